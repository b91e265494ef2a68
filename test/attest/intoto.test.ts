import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initKeys, keysDir, KEY_FILES, loadPrivateKey, stepLayoutFile } from '../../server/attest/keys.ts';
import { hashTree, sha256File } from '../../server/attest/hash.ts';
import { createLink, linkFileName, verifyLinkSignature, type Link } from '../../server/attest/link.ts';
import { canonicalJson } from '../../server/attest/canonical-json.ts';

const DEBIAN = '/usr/bin/in-toto-verify';
const PYPI = join(process.cwd(), '.tools/venv/bin/in-toto-verify');

/** A job's inputs and outputs on disk (a crafted trainer output: weights, topology, metrics, logs). */
function craftJob(root: string, seed: string): { inputs: string; outputs: string } {
  const inputs = join(root, 'inputs');
  const outputs = join(root, 'outputs');
  mkdirSync(inputs, { recursive: true });
  mkdirSync(join(outputs, 'model'), { recursive: true });
  writeFileSync(join(inputs, 'dataset.csv'), `a,b,y\n1,2,0\n3,4,1\n${seed}\n`);
  writeFileSync(join(inputs, 'definition.yaml'), 'features: [a, b]\nlabel: y\n');
  writeFileSync(join(outputs, 'model', 'model.json'), JSON.stringify({ modelTopology: { seed } }));
  writeFileSync(join(outputs, 'model', 'weights.bin'), Buffer.from([1, 2, 3, 4, seed.length]));
  writeFileSync(join(outputs, 'metrics.json'), JSON.stringify({ loss: 0.25, backend: 'wasm' }));
  writeFileSync(join(outputs, 'logs.txt'), 'epoch 1\n');
  return { inputs, outputs };
}

async function makeLink(dataDir: string, job: { inputs: string; outputs: string }): Promise<Link> {
  const key = await loadPrivateKey(keysDir(dataDir), KEY_FILES.platformKey);
  return createLink({
    key,
    command: ['node', 'trainer/main.ts'],
    materials: await hashTree(job.inputs, 'inputs/'),
    products: await hashTree(job.outputs, 'outputs/'),
    byproducts: { 'return-value': 0, stdout: '', stderr: '' },
    environment: {},
  });
}

function runVerify(bin: string, dataDir: string, linkDir: string): { status: number | null; out: string } {
  const k = keysDir(dataDir);
  const args =
    bin === DEBIAN
      ? [
          '--layout',
          join(k, stepLayoutFile('platform')),
          '--layout-keys',
          join(k, KEY_FILES.rootInToto),
          '--key-types',
          'ecdsa',
          '--link-dir',
          linkDir,
        ]
      : [
          '--layout',
          join(k, stepLayoutFile('platform')),
          '--verification-keys',
          join(k, KEY_FILES.rootPub),
          '--link-dir',
          linkDir,
        ];
  const r = spawnSync(bin, args, { encoding: 'utf8', cwd: linkDir });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('canonical JSON: sorted keys, no whitespace, only backslash and quote escaped', () => {
  assert.equal(
    canonicalJson({ b: [1, 'x"\\\n'], a: { d: null, c: true } }),
    '{"a":{"c":true,"d":null},"b":[1,"x\\"\\\\\n"]}',
  );
  assert.throws(() => canonicalJson({ f: 1.5 }), /integers only/);
});

test('keys init: private keys 0600, never overwritten, layout signed', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'attest-keys-'));
  try {
    const created = await initKeys(keysDir(dataDir));
    assert.ok(created.includes(KEY_FILES.platformKey) && created.includes(KEY_FILES.layout));
    for (const f of [KEY_FILES.platformKey, KEY_FILES.rootKey]) {
      assert.equal(statSync(join(keysDir(dataDir), f)).mode & 0o777, 0o600, f);
    }
    const before = readFileSync(join(keysDir(dataDir), KEY_FILES.platformPub), 'utf8');
    assert.deepEqual(await initKeys(keysDir(dataDir)), []);
    assert.equal(readFileSync(join(keysDir(dataDir), KEY_FILES.platformPub), 'utf8'), before);
    assert.match(before, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('streamed SHA-256 equals sha256sum', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attest-hash-'));
  try {
    const f = join(dir, 'blob');
    writeFileSync(f, Buffer.alloc(3 * 1024 * 1024 + 17, 7));
    const ref = spawnSync('sha256sum', [f], { encoding: 'utf8' }).stdout.split(' ')[0];
    assert.equal(await sha256File(f), ref);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [label, bin] of [
  ['Debian in-toto 1.3.1', DEBIAN],
  ['PyPI in-toto', PYPI],
] as const) {
  test(`${label}: in-toto-verify passes on the link with the layout, fails on tampering`, {
    skip: !existsSync(bin) && `${bin} missing`,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'attest-intoto-'));
    try {
      await initKeys(keysDir(dataDir));
      const job = craftJob(join(dataDir, 'job'), 'A');
      const link = await makeLink(dataDir, job);
      const linkDir = join(dataDir, 'links');
      mkdirSync(linkDir);
      const write = (l: Link): void => writeFileSync(join(linkDir, linkFileName(l)), JSON.stringify(l, null, 1));
      write(link);
      const ok = runVerify(bin, dataDir, linkDir);
      assert.equal(ok.status, 0, ok.out);
      assert.ok(verifyLinkSignature(link, readFileSync(join(keysDir(dataDir), KEY_FILES.platformPub), 'utf8')));

      // A product hash changed after signing: the link signature breaks.
      const tampered: Link = structuredClone(link);
      tampered.signed.products['outputs/model/weights.bin'] = { sha256: '0'.repeat(64) };
      write(tampered);
      const bad = runVerify(bin, dataDir, linkDir);
      assert.notEqual(bad.status, 0, 'tampered link must fail');
      assert.match(bad.out, /signature|Signature|Threshold/);
      assert.ok(!verifyLinkSignature(tampered, readFileSync(join(keysDir(dataDir), KEY_FILES.platformPub), 'utf8')));

      // A correctly signed link reporting a product outside the rules: the layout's DISALLOW catches it.
      const extra = await createLink({
        key: await loadPrivateKey(keysDir(dataDir), KEY_FILES.platformKey),
        command: [],
        materials: link.signed.materials,
        products: { ...link.signed.products, 'secret/platform.key': { sha256: '1'.repeat(64) } },
        byproducts: link.signed.byproducts,
        environment: {},
      });
      write(extra);
      const rule = runVerify(bin, dataDir, linkDir);
      assert.notEqual(rule.status, 0, 'product outside the rules must fail');
      assert.match(rule.out, /Rule|DISALLOW|disallow/i);

      // A layout signed by another root key is refused.
      write(link);
      const other = mkdtempSync(join(tmpdir(), 'attest-other-'));
      try {
        await initKeys(keysDir(other));
        for (const f of [KEY_FILES.rootPub, KEY_FILES.rootInToto])
          writeFileSync(join(keysDir(dataDir), f), readFileSync(join(keysDir(other), f)));
        const wrongRoot = runVerify(bin, dataDir, linkDir);
        assert.notEqual(wrongRoot.status, 0, 'layout under another root key must fail');
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
