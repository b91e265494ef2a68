import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import { OciPusher } from '../../server/attest/oci-push.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import type { JobOutcome } from '../../server/contracts.ts';

const ORAS = join(process.cwd(), '.tools/bin/oras');
const COSIGN = join(process.cwd(), '.tools/bin/cosign');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A real CNCF distribution registry (Debian docker-registry 2.8) in a temp dir. */
async function startRegistry(dir: string): Promise<{ host: string; proc: ChildProcess }> {
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'store')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false);
    if (ok) return { host, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('docker-registry did not start');
}

function outcome(root: string, seed: string): JobOutcome {
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), `x,y\n1,0\n${seed},1\n`);
  writeFileSync(join(root, 'out', 'model', 'model.json'), JSON.stringify({ modelTopology: { seed } }));
  writeFileSync(join(root, 'out', 'model', 'weights.bin'), Buffer.from(`weights-${seed}`));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ backend: 'wasm', loss: 0.5 }));
  writeFileSync(join(root, 'stdout'), 'done\n');
  writeFileSync(join(root, 'stderr'), '');
  return {
    jobId: `job-${seed}`, owner: 'alice', framework: 'tfjs', params: { epochs: 1 }, metadata: { model_name: 'demo', model_version: `1.0.${seed.length}`, author: 'alice', license_name: 'MIT' },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 1 }],
    outputDir: join(root, 'out'), stdoutPath: join(root, 'stdout'), stderrPath: join(root, 'stderr'), exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-11-24T05:00:00.000Z', startedAt: '2026-11-24T05:00:01.000Z', finishedAt: '2026-11-24T05:00:31.000Z',
  };
}

test('publish to a real distribution registry: oras pull byte-identical, oras discover lists referrers, cosign verify-attestation passes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attest-publish-'));
  const reg = await startRegistry(dir);
  try {
    await initKeys(dir);
    const publisher = createPublisher({
      pusher: new OciPusher(`http://${reg.host}`),
      registryHost: reg.host,
      loadKey: () => loadPrivateKey(keysDir(dir), KEY_FILES.platformKey),
    });
    const o = outcome(join(dir, 'job'), 'A');
    const steps: string[] = [];
    const pub = await publisher.publish(o, (s) => steps.push(s));
    assert.deepEqual(steps, ['attesting', 'publishing']);
    assert.equal(pub.ref, `${reg.host}/models/demo:1.0.1`);
    assert.equal(pub.inputs[0]?.repository, 'datasets/data.csv');
    assert.deepEqual(pub.attestations.map((a) => a.kind).sort(), ['aibom', 'aibom-signature', 'in-toto-link', 'slsa-provenance']);

    const pullDir = join(dir, 'pulled');
    const pull = spawnSync(ORAS, ['pull', '--plain-http', '-o', pullDir, pub.ref], { encoding: 'utf8' });
    assert.equal(pull.status, 0, pull.stderr);
    for (const f of ['model/model.json', 'model/weights.bin', 'metrics.json']) {
      assert.deepEqual(readFileSync(join(pullDir, f)), readFileSync(join(o.outputDir, f)), f);
    }
    const disc = spawnSync(ORAS, ['discover', '--plain-http', '--format', 'json', `${reg.host}/models/demo@${pub.digest}`], { encoding: 'utf8' });
    assert.equal(disc.status, 0, disc.stderr);
    const listed = JSON.stringify(JSON.parse(disc.stdout));
    for (const a of pub.attestations) assert.ok(listed.includes(a.digest), `oras discover lists ${a.kind}`);

    const pubKey = join(keysDir(dir), KEY_FILES.platformPub);
    const cos = spawnSync(COSIGN, ['verify-attestation', '--key', pubKey, '--type', 'cyclonedx', '--insecure-ignore-tlog', '--allow-insecure-registry', '--new-bundle-format', `${reg.host}/models/demo@${pub.digest}`], { encoding: 'utf8', env: { ...process.env, HOME: dir } });
    assert.equal(cos.status, 0, `${cos.stdout}\n${cos.stderr}`);
  } finally {
    reg.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
