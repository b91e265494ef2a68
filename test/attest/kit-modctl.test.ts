import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { listFiles } from '../../server/attest/hash.ts';
import type { JobOutcome, Publication } from '../../server/contracts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { publishKind } from './job-kind-sample.ts';

// Interop with the ModelPack client modctl: a published model pulls with it and extracts byte-identical, by the
// layers' org.cncf.model.filepath annotations. KitOps' `kit` is not tested: it cannot be built here (see
// scripts/setup.sh, Go section).
const MODCTL = join(process.cwd(), '.tools/bin/modctl');
let srv: TestServer;
let pub: Publication;
let outcome: JobOutcome;
const tmp = mkdtempSync(join(tmpdir(), 'modctl-'));

before(async () => {
  srv = await startTestServer();
  ({ pub, outcome } = await publishKind(srv, 'interop', 'platform', { final: { loss: 0.1 } }));
});
after(async () => {
  await srv.close();
  if (!process.env.KEEP) rmSync(tmp, { recursive: true, force: true });
});

/** modctl against the in-process server: asynchronous, or the server could not answer it. */
function modctl(...args: string[]): Promise<{ status: number; out: string }> {
  const common = ['--no-progress', '--storage-dir', join(tmp, 'store'), '--log-dir', join(tmp, 'logs')];
  return new Promise((resolve) => {
    execFile(MODCTL, [...args, ...common], { timeout: 120_000, env: { ...process.env, HOME: tmp } }, (e, so, se) =>
      resolve({ status: e ? ((e as { code?: number }).code ?? 1) : 0, out: `${so}${se}` }),
    );
  });
}

async function assertSameFiles(dir: string): Promise<void> {
  const want = (await listFiles(outcome.outputDir)).sort();
  assert.deepEqual((await listFiles(dir)).sort(), want);
  for (const f of want) assert.deepEqual(readFileSync(join(dir, f)), readFileSync(join(outcome.outputDir, f)), f);
}

test('modctl pull (store) then extract: the model files, byte-identical', {
  skip: !existsSync(MODCTL) && `${MODCTL} missing`,
}, async () => {
  const ref = `${srv.hostPort}/${pub.repository}:${pub.tag}`;
  const pulled = await modctl('pull', '--plain-http', ref);
  assert.equal(pulled.status, 0, pulled.out);
  const out = join(tmp, 'extracted');
  const ex = await modctl('extract', ref, '--output', out);
  assert.equal(ex.status, 0, ex.out);
  await assertSameFiles(out);
});

test('modctl pull --extract-from-remote: the model files, byte-identical', {
  skip: !existsSync(MODCTL) && `${MODCTL} missing`,
}, async () => {
  const out = join(tmp, 'remote');
  const r = await modctl(
    'pull',
    '--plain-http',
    '--extract-from-remote',
    '--extract-dir',
    out,
    `${srv.hostPort}/${pub.repository}:${pub.tag}`,
  );
  assert.equal(r.status, 0, r.out);
  await assertSameFiles(out);
});
