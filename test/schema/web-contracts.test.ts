/**
 * The job states have one home, schema/job-states.ts: the dashboard's js/contracts.js is generated from it
 * (stale → this fails; regenerate with `node --import tsx schema/web-contracts.ts`), and neither the CLI nor
 * the dashboard spells the list again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jobStates, terminalJobStates } from '../../schema/job-states.ts';
import { JobState } from '../../schema/jobs.ts';
import { renderWebContracts, webContractsPath } from '../../schema/web-contracts.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('server/web/static/js/contracts.js is what schema/web-contracts.ts renders now', async () => {
  assert.equal(
    readFileSync(webContractsPath, 'utf8'),
    renderWebContracts(),
    'stale: run `node --import tsx schema/web-contracts.ts`',
  );
  const mod = (await import(pathToFileURL(webContractsPath).href)) as {
    jobStates: string[];
    terminalJobStates: string[];
  };
  assert.deepEqual(mod.jobStates, [...jobStates]);
  assert.deepEqual(mod.terminalJobStates, [...terminalJobStates]);
  assert.deepEqual(JobState.options, [...jobStates], 'the zod enum is built from the same list');
});

test('neither the CLI nor the dashboard re-spells the job states', () => {
  const files = (dir: string, ext: string) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith(ext))
      .map((f) => join(dir, f));
  const offenders: string[] = [];
  for (const file of [...files('cli', '.ts'), ...files('server/web/static/js', '.js')]) {
    if (join(root, file) === webContractsPath) continue;
    // An array literal naming three or more states is a copy of the list (or of part of it).
    for (const [literal] of readFileSync(join(root, file), 'utf8').matchAll(/\[[^\][]*\]/g)) {
      const named = jobStates.filter((s) => new RegExp(`['"\`]${s}['"\`]`).test(literal));
      if (named.length >= 3) offenders.push(`${file}: ${literal.slice(0, 80)}`);
    }
  }
  assert.deepEqual(offenders, []);
});
