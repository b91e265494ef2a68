/**
 * The AIBoM completeness score end to end: the rubric on real AIBoMs, the publication gate
 * (AIBOMGEN_MIN_AIBOM_SCORE) refusing a real training job whose AIBoM lacks a license, `aibomgen verify
 * --min-score`, `aibomgen bom show`, GraphQL and the dashboard in Chromium showing the same score.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { SCORE_PROPERTY } from '../../schema/aibom-score.ts';
import { KEY_FILES } from '../../server/attest/keys.ts';
import { FIELDS, scoreAibom, storedScore, TIER_WEIGHT } from '../../server/attest/score.ts';
import type { JobOutcome, VerificationReport } from '../../server/contracts.ts';
import { aibomgen, cliHome, json } from '../cli/run.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Between a complete sample (license, author, description, use) and the same without a license. */
const GATE = 88;
let srv: TestServer;
const { env } = cliHome();
const run = (...args: string[]) => aibomgen(['--server', srv.url, ...args], { env });

before(async () => {
  srv = await startTestServer({ runner: 'process', minAibomScore: GATE });
});
after(() => srv.close());

function sample(name: string, metadata: JobOutcome['metadata']): JobOutcome {
  const root = join(srv.dataDir, `score-${name}`);
  mkdirSync(join(root, 'out'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), 'x,y\n1,0\n2,1\n');
  writeFileSync(join(root, 'out', 'model.json'), JSON.stringify({ name }));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ loss: 0.25 }));
  writeFileSync(join(root, 'stdout'), '');
  writeFileSync(join(root, 'stderr'), '');
  return {
    jobId: `job-${name}`,
    owner: 'score-test',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: { model_name: name, model_version: '1.0.0', ...metadata },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 10 }],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-12-05T10:00:00.000Z',
    startedAt: '2026-12-05T10:00:01.000Z',
    finishedAt: '2026-12-05T10:00:09.000Z',
  };
}
const full = { author: 'Ada', license_name: 'MIT', model_description: 'scored', intended_use: 'tests' };

test('the rubric: weights by tier, required fields first, total on any input', () => {
  const total = FIELDS.reduce((n, f) => n + TIER_WEIGHT[f.tier], 0);
  for (const bad of [null, undefined, 7, 'x', [], {}, { metadata: 5 }, { metadata: { component: { licenses: 3 } } }]) {
    const s = scoreAibom(bad);
    assert.equal(s.score, 0, JSON.stringify(bad));
    assert.equal(s.missing.length, FIELDS.length);
  }
  // Tier order: every required field before every recommended one, and those before the optional ones.
  const tiers = scoreAibom({}).missing.map((m) => m.tier);
  assert.deepEqual(
    tiers,
    [...tiers].sort((a, b) => TIER_WEIGHT[b] - TIER_WEIGHT[a]),
  );
  assert.ok(total > 0);
});

test('the gate: under AIBOMGEN_MIN_AIBOM_SCORE a job whose AIBoM has no license is refused, its reason listing what is missing', async () => {
  const publisher = srv.services.publisher!;
  // Through the publisher: the complete sample passes the gate, the same without a license does not.
  const pub = await publisher.publish(sample('scored', full));
  const { license_name: _, ...noLicense } = full;
  await assert.rejects(publisher.publish(sample('unlicensed', noLicense)), (e: Error) => {
    assert.match(e.message, new RegExp(`completeness score \\d+ is below the minimum ${GATE}`));
    assert.match(e.message, /missing: license \(required, model card\)/);
    return true;
  });
  const tags = await fetch(`${srv.url}/v2/models/unlicensed/tags/list`);
  assert.notEqual(tags.status, 200, 'nothing was published under the refused name');

  // A real training job (process runner) without a license: the job fails with the missing fields listed.
  const form = await tabularForm(srv.dataDir, { epochs: 1, name: 'gated' });
  form.delete('license_name');
  const sub = await submit(srv.url, form);
  assert.equal(sub.status, 202, JSON.stringify(sub.body));
  const job = await waitForState(srv.url, sub.body.job_id);
  assert.equal(job.state, 'failed', JSON.stringify(job));
  assert.match(String(job.reason), /publication failed: the AIBoM's completeness score \d+ is below the minimum 88/);
  assert.match(String(job.reason), /license \(required, model card\)/);

  // The published one: the score stored in its AIBoM, the verifier's own, the CLI and GraphQL agree.
  const pubKey = join(srv.services.config.keysDir, KEY_FILES.platformPub);
  const short = `models/scored:${pub.tag}`;
  const v = await run('verify', short, '--key', pubKey, '--json');
  assert.equal(v.status, 0, v.stderr);
  const report = json<VerificationReport>(v);
  const score = report.completeness!.score;
  assert.ok(score >= GATE && score < 100, `score ${score}`);
  assert.deepEqual(
    report.completeness!.missing.filter((m) => m.tier === 'required'),
    [],
    'nothing required is missing',
  );
  const show = await run('bom', 'show', short, '--json');
  assert.equal(show.status, 0, show.stderr);
  const summary = json<{ summary: { completeness: { score: number; stored?: number } } }>(show).summary;
  assert.equal(summary.completeness.score, score);
  assert.equal(summary.completeness.stored, score, `the AIBoM stores its score (${SCORE_PROPERTY})`);
  assert.match((await run('bom', 'show', short)).stdout, new RegExp(`completeness +${score}/100`));

  // verify --min-score: passes at the score, fails above it naming the missing fields (exit 4).
  const at = await run('verify', short, '--key', pubKey, '--min-score', String(score));
  assert.equal(at.status, 0, at.stderr);
  const above = await run('verify', short, '--key', pubKey, '--min-score', String(score + 1));
  assert.equal(above.status, 4, above.stdout);
  assert.match(above.stdout, new RegExp(`AIBoM completeness score >= ${score + 1} — score ${score} .* is below`));
  assert.match(above.stdout, /missing: .*\((recommended|optional)\)/);
  const viaPlatform = await run('verify', short, '--min-score', String(score + 1));
  assert.equal(viaPlatform.status, 4, 'the platform verifier reports the same score');
  assert.equal((await run('verify', short, '--min-score', '101')).status, 2, 'a score above 100 is a usage error');

  const gql = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `{ verify(ref: "${short}") { completeness { score rubric missing { field tier } } }
                modelVersion(ref: "${short}") { completeness { score } aibomDocument } }`,
    }),
  });
  const body = (await gql.json()) as {
    data: {
      verify: { completeness: { score: number; rubric: string } };
      modelVersion: { completeness: { score: number }; aibomDocument: unknown };
    };
  };
  assert.equal(body.data.verify.completeness.score, score, JSON.stringify(body));
  assert.equal(body.data.modelVersion.completeness.score, score);
  assert.equal(storedScore(body.data.modelVersion.aibomDocument), score);

  // The dashboard shows it on the model page (the verification box), in Chromium.
  if (!existsSync('/usr/bin/chromium')) assert.fail('/usr/bin/chromium is missing: scripts/setup.sh installs it');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${srv.url}/#/models/models/scored@${pub.digest}`);
    const shown = page.getByTestId('aibom-score');
    await shown.waitFor({ timeout: 60_000 });
    assert.match(await shown.innerText(), new RegExp(`AIBoM completeness: ${score}/100`));
  } finally {
    await browser.close();
  }
});
