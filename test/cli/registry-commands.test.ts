import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType } from '../../schema/media-types.ts';
import { KEY_FILES, keysDir } from '../../server/attest/keys.ts';
import type { Publication, VerificationReport } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { publishSample } from './published.ts';
import { aibomgen, cliHome, json } from './run.ts';

// verify, pull and bom show against a real server holding models published by its real publisher.
let srv: TestServer;
let demo: { pub: Publication; outputDir: string };
let env: NodeJS.ProcessEnv;
let home: string;
const run = (...args: string[]) => aibomgen(['--server', srv.url, ...args], { env });

before(async () => {
  srv = await startTestServer();
  demo = await publishSample(srv, 'demo', '1.0.0');
  ({ env, home } = cliHome());
  // A model with no evidence at all: one layer, pushed straight to /v2/.
  const p = new OciClient(srv.url);
  const layer = await p.pushBlob('models/plain', Buffer.from('plain weights'), MediaType.modelWeightRaw, {
    'org.opencontainers.image.title': 'weights.bin',
  });
  const cfg = await p.pushBlob('models/plain', Buffer.from('{}'), MediaType.ociEmpty);
  await p.pushManifest(
    'models/plain',
    '1.0.0',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: MediaType.modelManifestArtifact,
        config: cfg,
        layers: [layer],
      }),
    ),
  );
});
after(async () => {
  await srv.close();
});

const pubKey = (): string => join(keysDir(srv.dataDir), KEY_FILES.platformPub);

test('verify: 0 and VERIFIED for a published model; --json is the VerificationReport', async () => {
  const r = await run('verify', 'models/demo:1.0.0');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^VERIFIED models\/demo:1\.0\.0 \(sha256:[0-9a-f]{64}\)/);
  assert.equal(r.stderr, '');
  const j = await run('verify', 'models/demo:1.0.0', '--json');
  const report = json<VerificationReport>(j);
  assert.equal(j.status, 0);
  assert.equal(report.verified, true);
  assert.equal(report.digest, demo.pub.digest);
  assert.ok(report.checks.length > 5 && report.checks.every((c) => typeof c.name === 'string' && c.passed === true));
});

test('verify --key checks the chain locally with public keys (host:port ref, layout too)', async () => {
  const k = keysDir(srv.dataDir);
  const r = await run(
    'verify',
    `${srv.hostPort}/models/demo:1.0.0`,
    '--key',
    pubKey(),
    '--layout',
    join(k, KEY_FILES.layout),
    '--layout-key',
    join(k, KEY_FILES.rootPub),
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(json<VerificationReport>(r).verified, true);
  // Another platform's key: the same model does not verify.
  const other = join(home, 'other.pub');
  writeFileSync(
    other,
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  const bad = await run('verify', 'models/demo:1.0.0', '--key', other);
  assert.equal(bad.status, 4, bad.stdout + bad.stderr);
});

test('verify: 3 for a model that does not exist, 4 for one without evidence, 2 for a bad reference', async () => {
  const missing = await run('verify', 'models/nope:1.0.0');
  assert.equal(missing.status, 3, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /^aibomgen: models\/nope:1\.0\.0 not found\n$/);
  const plain = await run('verify', 'models/plain:1.0.0');
  assert.equal(plain.status, 4, plain.stdout + plain.stderr);
  assert.match(plain.stdout, /^FAILED models\/plain:1\.0\.0/);
  assert.match(plain.stderr, /^aibomgen: models\/plain:1\.0\.0 did not verify: \d+ checks? failed \(first: .+\)\n$/);
  const badRef = await run('verify', 'Models/UPPER:1');
  assert.equal(badRef.status, 2);
  assert.match(badRef.stderr, /not a model reference/);
  const layoutAlone = await run('verify', 'models/demo:1.0.0', '--layout', 'x');
  assert.equal(layoutAlone.status, 2);
});

test('pull: verifies, then writes every titled layer byte-identical; --json lists the files', async () => {
  const dir = join(home, 'pulled');
  const r = await run('pull', 'models/demo:1.0.0', '-o', dir, '--json');
  assert.equal(r.status, 0, r.stderr);
  const res = json<{
    ref: string;
    digest: string;
    verified: boolean;
    directory: string;
    files: { path: string; digest: string; size: number }[];
  }>(r);
  assert.equal(res.ref, 'models/demo:1.0.0');
  assert.equal(res.digest, demo.pub.digest);
  assert.equal(res.verified, true);
  const paths = res.files.map((f) => f.path).sort();
  for (const f of ['metrics.json', 'model/model.json', 'model/weights.bin']) {
    assert.ok(paths.includes(f), `${f} pulled (got ${paths.join(', ')})`);
    assert.deepEqual(readFileSync(join(dir, f)), readFileSync(join(demo.outputDir, f)), f);
  }
  for (const f of res.files) assert.match(f.digest, /^sha256:[0-9a-f]{64}$/);
  // No temporary files are left behind.
  const all = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [e.name]));
  assert.ok(all(dir).every((n) => !n.endsWith('.aibomgen-partial')));
  // Human output: one line per file on stdout, the summary on stderr.
  const h = await run('pull', `${srv.hostPort}/models/demo:1.0.0`, '-o', join(home, 'pulled2'));
  assert.equal(h.status, 0, h.stderr);
  assert.equal(h.stdout.trim().split('\n').length, res.files.length);
  assert.match(h.stderr, /verified models\/demo:1\.0\.0/);
});

test('pull refuses to write anything when verification fails (exit 4), unless --no-verify', async () => {
  const dir = join(home, 'plain');
  const r = await run('pull', 'models/plain:1.0.0', '-o', dir);
  assert.equal(r.status, 4, r.stdout + r.stderr);
  assert.equal(existsSync(dir), false, 'nothing written');
  assert.match(r.stderr, /did not verify/);
  const nv = await run('pull', 'models/plain:1.0.0', '-o', dir, '--no-verify', '--json');
  assert.equal(nv.status, 0, nv.stderr);
  assert.equal(json<{ verified: boolean }>(nv).verified, false);
  assert.equal(readFileSync(join(dir, 'weights.bin'), 'utf8'), 'plain weights');
  const missing = await run('pull', 'models/nope:1.0.0', '-o', join(home, 'nope'));
  assert.equal(missing.status, 3);
});

test('bom show: a readable summary of the AIBoM; --json shape; --key checks the signer', async () => {
  const r = await run('bom', 'show', 'models/demo:1.0.0');
  assert.equal(r.status, 0, r.stderr);
  for (const section of ['Model card', 'Datasets', 'Base models', 'Training', 'Metrics', 'Signer'])
    assert.match(r.stdout, new RegExp(`^${section}$`, 'm'));
  assert.match(r.stdout, /author\s+Ada/);
  assert.match(r.stdout, /license\s+MIT/);
  assert.match(r.stdout, /data\.csv/);
  assert.match(r.stdout, /NOT isolated \(process runner\)/);
  assert.match(r.stdout, /loss=0\.25 accuracy=0\.875/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no ANSI when not a terminal');

  const j = await run('bom', 'show', 'models/demo:1.0.0', '--json', '--key', pubKey());
  assert.equal(j.status, 0, j.stderr);
  const b = json<{
    ref: string;
    digest: string;
    aibomDigest: string;
    summary: {
      model: { name: string; version: string; author: string; licenses: string[] };
      datasets: { name: string; sha256: string }[];
      runner: { isolated: boolean };
      metrics: Record<string, string>;
      training: { jobId: string; params: Record<string, unknown> };
      signer: { algorithm: string; keyId: string; selfConsistent: boolean; trustedKey: { verified: boolean } };
    };
  }>(j);
  assert.equal(b.digest, demo.pub.digest);
  const aibom = demo.pub.attestations.find((a) => a.kind === 'aibom');
  assert.ok(aibom);
  assert.match(b.aibomDigest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(
    [b.summary.model.name, b.summary.model.version, b.summary.model.author, b.summary.model.licenses],
    ['demo', '1.0.0', 'Ada', ['MIT']],
  );
  assert.equal(b.summary.datasets[0]?.name, 'data.csv');
  assert.match(b.summary.datasets[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(b.summary.runner.isolated, false);
  assert.deepEqual(b.summary.metrics, { loss: '0.25', accuracy: '0.875' });
  assert.equal(b.summary.training.jobId, 'job-demo-1.0.0');
  assert.deepEqual(b.summary.training.params, { epochs: 1, batch_size: 8 });
  assert.equal(b.summary.signer.algorithm, 'ES256');
  assert.match(b.summary.signer.keyId, /^[0-9a-f]{64}$/);
  assert.equal(b.summary.signer.selfConsistent, true);
  assert.equal(b.summary.signer.trustedKey.verified, true);

  const raw = await run('bom', 'show', 'models/demo:1.0.0', '--raw');
  assert.equal((JSON.parse(raw.stdout) as { bomFormat: string }).bomFormat, 'CycloneDX');

  const other = join(home, 'other2.pub');
  writeFileSync(
    other,
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  const wrong = await run('bom', 'show', 'models/demo:1.0.0', '--key', other);
  assert.equal(wrong.status, 4, wrong.stderr);
  assert.match(wrong.stderr, /not signed by/);
  const none = await run('bom', 'show', 'models/plain:1.0.0');
  assert.equal(none.status, 3);
  assert.match(none.stderr, /has no AIBoM referrer/);
});

test('a tampered blob: verify and pull fail with 4; pull --no-verify still refuses the bad bytes and leaves no file', async () => {
  const t = await publishSample(srv, 'tamper', '1.0.0');
  const m = JSON.parse(
    await (
      await fetch(`${srv.url}/v2/models/tamper/manifests/1.0.0`, { headers: { accept: MediaType.ociManifest } })
    ).text(),
  ) as { layers: { digest: string; annotations: Record<string, string> }[] };
  const weights = m.layers
    .find((l) => l.annotations['org.opencontainers.image.title'] === 'model/weights.bin')!
    .digest.slice(7);
  const file = join(srv.dataDir, 'registry', 'blobs', 'sha256', weights.slice(0, 2), weights);
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] = bytes.at(-1)! ^ 1;
  writeFileSync(file, bytes);
  void t;
  const v = await run('verify', 'models/tamper:1.0.0');
  assert.equal(v.status, 4, v.stdout + v.stderr);
  assert.match(v.stdout, /FAIL .*weights\.bin/);
  const dir = join(home, 'tampered');
  const p = await run('pull', 'models/tamper:1.0.0', '-o', dir);
  assert.equal(p.status, 4);
  assert.equal(existsSync(dir), false);
  const nv = await run('pull', 'models/tamper:1.0.0', '-o', dir, '--no-verify');
  assert.equal(nv.status, 4, nv.stdout + nv.stderr);
  assert.match(nv.stderr, /digest mismatch/);
  assert.equal(existsSync(join(dir, 'model', 'weights.bin')), false);
  assert.equal(existsSync(join(dir, 'model', 'weights.bin.aibomgen-partial')), false);
});
