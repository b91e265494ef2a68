import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequirement } from '../../server/attest/eval-policy.ts';
import type { Statement } from '../../server/attest/dsse.ts';
import { evaluationFromStatement, PREDICATE_TEST_RESULT } from '../../server/attest/evaluation.ts';
import type { Link } from '../../server/attest/link.ts';
import { KEY_FILES } from '../../server/attest/keys.ts';
import type { Publication, VerificationReport } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { aibomgen, cliHome } from '../cli/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { publishKind, referrerBlob } from './job-kind-sample.ts';
import { attach } from './verify-helpers.ts';

// The signed held-out evaluation: an in-toto test-result attestation about the model manifest, read by cosign
// and by `aibomgen verify --require-eval`.
const COSIGN = join(process.cwd(), '.tools/bin/cosign');
let srv: TestServer;
let good: Publication;
let other: Publication;
const home = mkdtempSync(join(tmpdir(), 'evaluation-'));
/** What the platform trainer writes (trainer/main.ts): final logs with the held-out val_* metrics, seed, split. */
const trainerMetrics = (valAcc: number) => ({
  final: { loss: 0.2, acc: 0.95, val_loss: 0.31, val_acc: valAcc },
  seed: 42,
  params: { validation_split: 0.2 },
  dataset: { samples: 100, train_samples: 80, validation_samples: 20 },
});

before(async () => {
  srv = await startTestServer();
  good = (await publishKind(srv, 'eval-good', 'platform', trainerMetrics(0.925))).pub;
  other = (await publishKind(srv, 'eval-other', 'platform', trainerMetrics(0.5))).pub;
});
after(async () => {
  await srv.close();
  rmSync(home, { recursive: true, force: true });
});

/** cosign against the in-process server: asynchronous, or the server could not answer it. */
function cosignVerify(ref: string): Promise<{ status: number; out: string; stdout: string }> {
  const args = [
    'verify-attestation',
    '--key',
    join(srv.services.config.keysDir, KEY_FILES.platformPub),
    '--type',
    PREDICATE_TEST_RESULT,
    '--insecure-ignore-tlog',
    '--allow-insecure-registry',
    '--new-bundle-format',
    ref,
  ];
  return new Promise((resolve) => {
    execFile(COSIGN, args, { env: { ...process.env, HOME: home }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}`, stdout }),
    );
  });
}

test('the publisher attaches a signed test-result about the model: held-out metrics, dataset digests, seed', async () => {
  const ref = good.attestations.find((a) => a.kind === 'test-result');
  assert.ok(ref, `attestations: ${good.attestations.map((a) => a.kind).join(', ')}`);
  const bundle = JSON.parse((await referrerBlob(new OciClient(srv.url), good.repository, ref.digest)).toString());
  const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  assert.equal(st.predicateType, PREDICATE_TEST_RESULT);
  assert.equal(`sha256:${st.subject[0].digest.sha256}`, good.digest);
  const p = st.predicate;
  assert.equal(p.result, 'PASSED');
  assert.deepEqual(p.metrics, { loss: 0.31, acc: 0.925, accuracy: 0.925 });
  assert.equal(p.seed, 42);
  assert.deepEqual(p.split, { kind: 'held-out', validation_split: 0.2, samples: 20 });
  assert.deepEqual(
    p.configuration.map((c: { name: string }) => c.name),
    ['inputs/data.csv', 'inputs/definition.json'],
  );
  for (const c of p.configuration) assert.match(c.digest.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(p.failedTests, []);
});

test('cosign verify-attestation --type test-result passes; a replayed evaluation from another model fails', {
  skip: !existsSync(COSIGN) && `${COSIGN} missing`,
}, async () => {
  const ok = await cosignVerify(`${srv.hostPort}/${good.repository}@${good.digest}`);
  assert.equal(ok.status, 0, ok.out);
  // cosign prints the verified DSSE envelope: its statement is the test-result about this manifest.
  const printed = JSON.parse(ok.stdout.trim().split('\n')[0]!) as { payload: string };
  const st = JSON.parse(Buffer.from(printed.payload, 'base64').toString('utf8'));
  assert.equal(st.predicateType, PREDICATE_TEST_RESULT);
  assert.equal(`sha256:${st.subject[0].digest.sha256}`, good.digest);
  assert.equal(st.predicate.metrics.accuracy, 0.925);

  // The same signed bundle attached to another model: cosign finds it but its subject is the other manifest.
  const t = new OciClient(srv.url);
  const ev = good.attestations.find((a) => a.kind === 'test-result')!;
  const blob = await referrerBlob(t, good.repository, ev.digest);
  const subject = (await t.getManifest(other.repository, other.digest))!;
  // Remove the other model's own evaluation first, so only the replayed one is there.
  const own = other.attestations.find((a) => a.kind === 'test-result')!;
  await t.deleteManifest(other.repository, own.digest);
  await attach(
    t,
    other.repository,
    { digest: other.digest, size: subject.bytes.byteLength },
    'application/vnd.dev.sigstore.bundle.v0.3+json',
    blob,
    { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': PREDICATE_TEST_RESULT },
  );
  const replay = await cosignVerify(`${srv.hostPort}/${other.repository}@${other.digest}`);
  assert.notEqual(replay.status, 0, `a replayed evaluation must fail: ${replay.out}`);
  // cosign keeps only bundles whose subject is this manifest: the replayed test-result is not among them.
  assert.match(
    replay.out,
    /none of the attestations matched the predicate type: https:\/\/in-toto\.io\/attestation\/test-result/,
  );

  // aibomgen: the chain still verifies (the stray bundle counts for nothing), --require-eval has no evaluation.
  const { env } = cliHome();
  const r = await aibomgen(['--server', srv.url, 'verify', `models/eval-other@${other.digest}`, '--json'], { env });
  const report = JSON.parse(r.stdout) as VerificationReport;
  assert.equal(report.facts?.evaluation, undefined);
  assert.ok(report.checks.some((c) => c.passed && /not counted/.test(c.reason ?? '')));
  const req = await aibomgen(
    ['--server', srv.url, 'verify', `models/eval-other@${other.digest}`, '--require-eval', 'accuracy>=0.1'],
    { env },
  );
  assert.equal(req.status, 4, `${req.stdout}${req.stderr}`);
  assert.match(req.stdout, /FAIL policy: evaluation accuracy>=0.1 — no verified test-result attestation/);
});

test('aibomgen verify --require-eval: passes at or above, fails below, refuses a malformed requirement', async () => {
  const { env } = cliHome();
  const keys = srv.services.config.keysDir;
  const run = (...args: string[]) => aibomgen(['--server', srv.url, ...args], { env });
  for (const extra of [[], ['--key', join(keys, KEY_FILES.platformPub)]]) {
    const ref = `${srv.hostPort}/models/eval-good:1.0.0`;
    const pass = await run('verify', ref, '--require-eval', 'accuracy>=0.9', '--require-eval', 'loss<0.5', ...extra);
    assert.equal(pass.status, 0, `${pass.stdout}${pass.stderr}`);
    assert.match(pass.stdout, /ok {3}policy: evaluation accuracy>=0.9/);
    const below = await run('verify', ref, '--require-eval', 'accuracy>=0.95', ...extra);
    assert.equal(below.status, 4, `${below.stdout}${below.stderr}`);
    assert.match(below.stdout, /FAIL policy: evaluation accuracy>=0.95 — accuracy is 0.925/);
    const unknown = await run('verify', ref, '--require-eval', 'f1>=0.5', ...extra);
    assert.equal(unknown.status, 4);
    assert.match(unknown.stdout, /has no metric f1/);
  }
  const bad = await run('verify', 'models/eval-good:1.0.0', '--require-eval', 'accuracy at least 0.9');
  assert.equal(bad.status, 2, `${bad.stdout}${bad.stderr}`);
  assert.match(bad.stderr, /expected <metric><op><number>/);
  assert.deepEqual(parseRequirement(' val.acc <= 1e-3 '), { metric: 'val.acc', op: '<=', value: 0.001 });
});

test('a trainer-image job gets no evaluation attestation (the platform does not sign what user code reports)', async () => {
  const img = (await publishKind(srv, 'eval-image', 'image', trainerMetrics(0.99))).pub;
  assert.equal(
    img.attestations.find((a) => a.kind === 'test-result'),
    undefined,
  );
  const { env } = cliHome();
  const r = await aibomgen(
    ['--server', srv.url, 'verify', 'models/eval-image:1.0.0', '--require-eval', 'accuracy>=0.5'],
    { env },
  );
  assert.equal(r.status, 4, `${r.stdout}${r.stderr}`);
});

test('an evaluation on data other than the link materials does not count (the check says which)', async () => {
  const ev = good.attestations.find((a) => a.kind === 'test-result')!;
  const bundle = JSON.parse((await referrerBlob(new OciClient(srv.url), good.repository, ev.digest)).toString());
  const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
  const link = good.attestations.find((a) => a.kind === 'in-toto-link')!;
  const { materials } = (
    JSON.parse((await referrerBlob(new OciClient(srv.url), good.repository, link.digest)).toString()) as Link
  ).signed;
  assert.deepEqual(evaluationFromStatement(st, materials).metrics, { loss: 0.31, acc: 0.925, accuracy: 0.925 });
  const other = { ...materials, 'inputs/data.csv': { sha256: '0'.repeat(64) } };
  assert.match(evaluationFromStatement(st, other).reason ?? '', /not among the link's materials: inputs\/data\.csv/);
  assert.match(evaluationFromStatement(st, undefined).reason ?? '', /no verified in-toto link/);
});
