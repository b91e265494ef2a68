import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey, stepLayoutFile } from '../../server/attest/keys.ts';
import { OciClient } from '../../server/oci/client.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import { verifyModel } from '../../server/attest/verify-chain.ts';
import { existsSync } from 'node:fs';
import { finishedJob } from '../helpers/job-outcome.ts';
import { freePort } from '../helpers/net.ts';

const ORAS = join(process.cwd(), '.tools/bin/oras');
const COSIGN = join(process.cwd(), '.tools/bin/cosign');

/** A real CNCF distribution registry (Debian docker-registry 2.8) in a temp dir. */
async function startRegistry(dir: string): Promise<{ host: string; proc: ChildProcess }> {
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'store')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { host, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('docker-registry did not start');
}

const outcome = (root: string, seed: string) => finishedJob(root, seed);

test('publish to a real distribution registry: oras pull byte-identical, oras discover lists referrers, cosign verify-attestation passes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attest-publish-'));
  const reg = await startRegistry(dir);
  try {
    await initKeys(keysDir(dir));
    const publisher = createPublisher({
      target: new OciClient(`http://${reg.host}`),
      registryHost: reg.host,
      loadKey: () => loadPrivateKey(keysDir(dir), KEY_FILES.platformKey),
    });
    const o = outcome(join(dir, 'job'), 'A');
    const steps: string[] = [];
    const pub = await publisher.publish(o, (s) => steps.push(s));
    assert.deepEqual(steps, ['attesting', 'publishing']);
    assert.equal(pub.ref, `${reg.host}/models/demo:1.0.1`);
    assert.equal(pub.inputs[0]?.repository, 'datasets/data.csv');
    assert.deepEqual(pub.attestations.map((a) => a.kind).sort(), [
      'aibom',
      'aibom-signature',
      'cosign-signature',
      'in-toto-link',
      'model-signature',
      'slsa-provenance',
      'spdx',
    ]);

    const pullDir = join(dir, 'pulled');
    const pull = spawnSync(ORAS, ['pull', '--plain-http', '-o', pullDir, pub.ref], { encoding: 'utf8' });
    assert.equal(pull.status, 0, pull.stderr);
    for (const f of ['model/model.json', 'model/weights.bin', 'metrics.json']) {
      assert.deepEqual(readFileSync(join(pullDir, f)), readFileSync(join(o.outputDir, f)), f);
    }
    const disc = spawnSync(
      ORAS,
      ['discover', '--plain-http', '--format', 'json', `${reg.host}/models/demo@${pub.digest}`],
      { encoding: 'utf8' },
    );
    assert.equal(disc.status, 0, disc.stderr);
    const listed = JSON.stringify(JSON.parse(disc.stdout));
    for (const a of pub.attestations.filter((x) => x.kind !== 'cosign-signature'))
      assert.ok(listed.includes(a.digest), `oras discover lists ${a.kind}`);

    const pubKey = join(keysDir(dir), KEY_FILES.platformPub);
    const cos = spawnSync(
      COSIGN,
      [
        'verify-attestation',
        '--key',
        pubKey,
        '--type',
        'cyclonedx',
        '--insecure-ignore-tlog',
        '--allow-insecure-registry',
        '--new-bundle-format',
        `${reg.host}/models/demo@${pub.digest}`,
      ],
      { encoding: 'utf8', env: { ...process.env, HOME: dir } },
    );
    assert.equal(cos.status, 0, `${cos.stdout}\n${cos.stderr}`);
    const sigv = spawnSync(
      COSIGN,
      [
        'verify',
        '--key',
        pubKey,
        '--insecure-ignore-tlog',
        '--allow-insecure-registry',
        `${reg.host}/models/demo@${pub.digest}`,
      ],
      { encoding: 'utf8', env: { ...process.env, HOME: dir } },
    );
    assert.equal(sigv.status, 0, `cosign verify: ${sigv.stdout}\n${sigv.stderr}`);

    // Full chain with public keys only.
    const pusher = new OciClient(`http://${reg.host}`);
    const trust = {
      signers: [readFileSync(pubKey, 'utf8')],
      rootPem: readFileSync(join(keysDir(dir), KEY_FILES.rootPub), 'utf8'),
      layout: JSON.parse(readFileSync(join(keysDir(dir), KEY_FILES.layout), 'utf8')),
    };
    const good = await verifyModel(pusher, pub.ref, trust);
    assert.equal(good.verified, true, JSON.stringify(good.checks.filter((c) => !c.passed)));
    assert.equal(good.digest, pub.digest);
    const cli = (ref: string): { status: number | null; out: string } => {
      const code = `import('./cli/commands/verify.ts').then((m) => m.verifyCommand().parseAsync(process.argv.slice(1), { from: 'user' }))`;
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          code,
          ref,
          '--key',
          pubKey,
          '--layout',
          join(keysDir(dir), KEY_FILES.layout),
          '--layout-key',
          join(keysDir(dir), KEY_FILES.rootPub),
        ],
        { encoding: 'utf8' },
      );
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const cliOk = cli(pub.ref);
    assert.equal(cliOk.status, 0, cliOk.out);
    assert.match(cliOk.out, /^VERIFIED /);

    // Tamper matrix: one byte of each stored blob (in the registry's own storage) → verification names it.
    const blobPath = (d: string): string =>
      join(dir, 'store', 'docker/registry/v2/blobs/sha256', d.slice(7, 9), d.slice(7), 'data');
    const manifest = JSON.parse(readFileSync(blobPath(pub.digest), 'utf8')) as {
      config: { digest: string };
      layers: { digest: string; annotations: Record<string, string> }[];
    };
    const layer = (t: string): string =>
      manifest.layers.find((l) => l.annotations['org.opencontainers.image.title'] === t)!.digest;
    const refLayer = async (kind: string): Promise<string> => {
      const a = pub.attestations.find((x) => x.kind === kind)!;
      const m = await pusher.getManifest('models/demo', a.digest, { verify: false });
      return (JSON.parse(Buffer.from(m!.bytes).toString('utf8')) as { layers: { digest: string }[] }).layers[0]!.digest;
    };
    // The published link, as pulled from the registry, passes both reference in-toto verifiers with the layout.
    const linkBytes = await pusher.fetchBlob('models/demo', await refLayer('in-toto-link'), { verify: false });
    const linkDir = join(dir, 'linkdir');
    mkdirSync(linkDir);
    const linkJson = JSON.parse(Buffer.from(linkBytes).toString('utf8')) as { signatures: { keyid: string }[] };
    writeFileSync(join(linkDir, `train-platform.${linkJson.signatures[0]!.keyid.slice(0, 8)}.link`), linkBytes);
    const k = keysDir(dir);
    const deb = spawnSync(
      '/usr/bin/in-toto-verify',
      [
        '--layout',
        join(k, stepLayoutFile('platform')),
        '--layout-keys',
        join(k, KEY_FILES.rootInToto),
        '--key-types',
        'ecdsa',
        '--link-dir',
        linkDir,
      ],
      { encoding: 'utf8', cwd: linkDir },
    );
    assert.equal(deb.status, 0, `Debian in-toto-verify: ${deb.stdout}${deb.stderr}`);
    const pypi = join(process.cwd(), '.tools/venv/bin/in-toto-verify');
    if (existsSync(pypi)) {
      const r = spawnSync(
        pypi,
        [
          '--layout',
          join(k, stepLayoutFile('platform')),
          '--verification-keys',
          join(k, KEY_FILES.rootPub),
          '--link-dir',
          linkDir,
        ],
        { encoding: 'utf8', cwd: linkDir },
      );
      assert.equal(r.status, 0, `PyPI in-toto-verify: ${r.stdout}${r.stderr}`);
    }

    const cases: [string, string, RegExp][] = [
      ['weights', layer('model/weights.bin'), /model\/weights\.bin/],
      ['model.json', layer('model/model.json'), /model\/model\.json/],
      ['metrics', layer('metrics.json'), /metrics\.json/],
      ['config blob', manifest.config.digest, /config/],
      ['link', await refLayer('in-toto-link'), /in-toto\.link/],
      ['AIBoM', await refLayer('aibom'), /cyclonedx/],
      ['AIBoM DSSE bundle', await refLayer('aibom-signature'), /sigstore/],
      ['SLSA DSSE bundle', await refLayer('slsa-provenance'), /sigstore/],
      ['model manifest', pub.digest, /manifest/],
      [
        'cosign signature payload',
        await (async () => {
          const m = await pusher.getManifest('models/demo', `${pub.digest.replace(':', '-')}.sig`, { verify: false });
          return (JSON.parse(Buffer.from(m!.bytes).toString('utf8')) as { layers: { digest: string }[] }).layers[0]!
            .digest;
        })(),
        /cosign signature/,
      ],
    ];
    for (const [what, d, named] of cases) {
      const f = blobPath(d);
      assert.ok(existsSync(f), f);
      const orig = readFileSync(f);
      const bad = Buffer.from(orig);
      const i = Math.floor(bad.length / 2);
      bad.writeUInt8(bad.readUInt8(i) ^ 1, i);
      writeFileSync(f, bad);
      try {
        const r = await verifyModel(pusher, `${reg.host}/models/demo@${pub.digest}`, trust);
        assert.equal(r.verified, false, `${what}: tampering must fail`);
        const reasons = r.checks
          .filter((c) => !c.passed)
          .map((c) => `${c.name}: ${c.reason ?? ''}`)
          .join(' | ');
        assert.match(reasons, named, `${what}: ${reasons}`);
        if (what === 'weights') {
          const c = cli(pub.ref);
          assert.equal(c.status, 1, c.out);
          assert.match(c.out, /FAIL blob model\/weights\.bin/);
        }
        // cosign v3 `verify --key` also accepts the DSSE bundle referrers, so the .sig tag is checked by our chain only.
        if (what === 'AIBoM DSSE bundle') {
          const c = spawnSync(
            COSIGN,
            [
              'verify-attestation',
              '--key',
              pubKey,
              '--type',
              'cyclonedx',
              '--insecure-ignore-tlog',
              '--allow-insecure-registry',
              '--new-bundle-format',
              `${reg.host}/models/demo@${pub.digest}`,
            ],
            { encoding: 'utf8', env: { ...process.env, HOME: dir } },
          );
          assert.notEqual(c.status, 0, 'cosign must fail on a tampered attestation');
        }
      } finally {
        writeFileSync(f, orig);
      }
    }
    assert.equal((await verifyModel(pusher, pub.ref, trust)).verified, true, 'restored blobs verify again');

    // Replay: job B's model carrying job A's signed AIBoM statement (whose subject is A's manifest).
    const pubB = await publisher.publish(outcome(join(dir, 'jobB'), 'BB'));
    const aBundle = await pusher.fetchBlob('models/demo', await refLayer('aibom-signature'), { verify: false });
    const bManifest = await pusher.getManifest('models/demo', pubB.digest, { verify: false });
    const cfg = await pusher.pushBlob('models/demo', Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const lay = await pusher.pushBlob('models/demo', aBundle, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const replay = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        config: cfg,
        layers: [lay],
        subject: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: pubB.digest,
          size: bManifest!.bytes.byteLength,
        },
        annotations: { 'dev.sigstore.bundle.predicateType': 'https://cyclonedx.org/bom' },
      }),
    );
    const rd = await pusher.pushManifest(
      'models/demo',
      `sha256:${(await import('node:crypto')).createHash('sha256').update(replay).digest('hex')}`,
      replay,
    );
    await pusher.addToFallbackIndex('models/demo', pubB.digest, [
      { ...rd, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' },
    ]);
    // Beside B's own statement the replay counts for nothing and fails nothing: a warning check names it.
    const rb = await verifyModel(pusher, pubB.ref, trust);
    assert.equal(rb.verified, true, JSON.stringify(rb.checks.filter((c) => !c.passed)));
    assert.match(rb.checks.find((c) => c.name === `attachment ${rd.digest}`)?.reason ?? '', /replayed attestation/);
    // In place of B's own (dropped from B's referrers index), B fails on the subject.
    const bSig = pubB.attestations.find((a) => a.kind === 'aibom-signature')!.digest;
    const idxTag = pubB.digest.replace(':', '-');
    const idx = JSON.parse(Buffer.from((await pusher.getManifest('models/demo', idxTag))!.bytes).toString('utf8')) as {
      manifests: { digest: string }[];
    };
    idx.manifests = idx.manifests.filter((d) => d.digest !== bSig);
    await pusher.pushManifest(
      'models/demo',
      idxTag,
      Buffer.from(JSON.stringify(idx)),
      'application/vnd.oci.image.index.v1+json',
    );
    const rb2 = await verifyModel(pusher, pubB.ref, trust);
    assert.equal(rb2.verified, false);
    assert.match(
      rb2.checks
        .filter((c) => !c.passed)
        .map((c) => c.reason)
        .join(' | '),
      /replayed attestation/,
    );
  } finally {
    reg.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
