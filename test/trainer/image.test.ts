/**
 * The trainer bundle and the offline podman image: build the bundle into a temp dir, build the skeleton image
 * with no network, and run the bundle through real podman the way the jobs area does (network none,
 * read-only rootfs, user 65534, no capabilities, read-only binds from trainerImageSpec).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildTrainer, ensureTrainerBundle, staleReason, trainerEntry } from '../../trainer/build.ts';
import { ensureTrainerImage, trainerImageSpec } from '../../trainer/image/spec.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function podmanRun(spec: ReturnType<typeof trainerImageSpec>, argv: string[]): Promise<Ran> {
  const args = [
    'run',
    '--rm',
    '--network',
    'none',
    '--read-only',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--user',
    spec.user,
  ];
  for (const b of spec.binds) args.push('-v', b);
  args.push(spec.image, ...argv);
  try {
    const r = await run('podman', args, { encoding: 'utf8', timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const dist = await mkdtemp(join(tmpdir(), 'aibomgen-trainer-dist-'));
test.after(() => rm(dist, { recursive: true, force: true }));

test('buildTrainer bundles the probe (and the trainer when it exists) with the wasm binaries and a manifest', async () => {
  const r = await buildTrainer(dist);
  assert.equal(r.trainerBuilt, existsSync(trainerEntry));
  const names = r.files.map((f) => f.name);
  for (const n of ['probe.mjs', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'])
    assert.ok(names.includes(n), `${n} missing: ${names.join(', ')}`);
  const manifest = JSON.parse(await readFile(join(dist, 'manifest.json'), 'utf8')) as {
    files: { name: string; sha256: string }[];
  };
  for (const f of manifest.files) {
    const sha = createHash('sha256')
      .update(await readFile(join(dist, f.name)))
      .digest('hex');
    assert.equal(sha, f.sha256, `manifest digest of ${f.name}`);
  }
  // The bundle runs outside the repository (no node_modules to fall back on) and finds its wasm beside it.
  const probe = await run(process.execPath, [join(dist, 'probe.mjs')], { cwd: tmpdir(), encoding: 'utf8' });
  const out = JSON.parse(probe.stdout.trim().split('\n').at(-1) as string) as { backend: string };
  assert.equal(out.backend, 'wasm');
});

test('ensureTrainerBundle rebuilds only when a source file the bundle was built from changed', async () => {
  const out = await mkdtemp(join(tmpdir(), 'aibomgen-trainer-ensure-'));
  try {
    const first = await ensureTrainerBundle(out);
    assert.equal(first.rebuilt, true);
    assert.ok(
      first.inputs.includes('trainer/tf.ts') && first.inputs.includes('trainer/backend/wasm-conv-grads.ts'),
      first.inputs.join(' '),
    );
    assert.equal(await staleReason(out), undefined);
    const again = await ensureTrainerBundle(out);
    assert.equal(again.rebuilt, false);
    assert.deepEqual(again.files, first.files);
    // sources newer than the build make it stale (the build is aged instead of touching the repository)
    await utimes(join(out, 'manifest.json'), new Date(0), new Date(0));
    assert.match((await staleReason(out)) ?? '', /^[\w/.-]+ changed$/);
    assert.equal((await ensureTrainerBundle(out)).rebuilt, true);
    assert.equal(await staleReason(out), undefined);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('npm run build:trainer fails clearly while trainer/main.ts is missing, and succeeds once it exists', async () => {
  const out = await mkdtemp(join(tmpdir(), 'aibomgen-trainer-cli-'));
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'trainer/build.ts', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    }).then(
      (ok) => ({ code: 0, stderr: ok.stderr }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
    );
    if (existsSync(trainerEntry)) {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(out, 'trainer.mjs')));
    } else {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /trainer\/main\.ts does not exist yet — built only probe\.mjs/);
      assert.ok(existsSync(join(out, 'probe.mjs')), 'what exists is still built');
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('the offline image builds without network, idempotently, and runs the bundle isolated', async () => {
  if (!existsSync(join(dist, 'probe.mjs'))) await buildTrainer(dist);
  const id = await ensureTrainerImage();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(await ensureTrainerImage(), id, 'a second build keeps the existing image');

  const spec = trainerImageSpec({ distDir: dist, entry: 'probe.mjs' });
  assert.ok(
    spec.binds.every((b) => b.endsWith(':ro')),
    `all binds read-only: ${spec.binds.join(' ')}`,
  );
  const r = await podmanRun(spec, spec.command);
  assert.equal(r.code, 0, r.stderr);
  const probe = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
    type: string;
    backend: string;
    versions: Record<string, string>;
    loss: number[];
  };
  assert.equal(probe.type, 'probe');
  assert.equal(probe.backend, 'wasm');
  assert.equal(probe.versions['tfjs-core'], '4.22.0');
  assert.equal(probe.loss.length, 3);
  assert.ok(probe.loss.every(Number.isFinite), `losses ${probe.loss.join(', ')}`);
  assert.ok(
    (probe.loss[2] as number) < (probe.loss[0] as number),
    `CNN trained inside the container: ${probe.loss.join(', ')}`,
  );
});

test('inside the container the bundle and the rootfs are read-only and the user is nobody', async () => {
  if (!existsSync(join(dist, 'probe.mjs'))) await buildTrainer(dist);
  await ensureTrainerImage();
  const spec = trainerImageSpec({ distDir: dist });
  const node = spec.command[0] as string;
  const script = `const fs=require('fs');const w=(p)=>{try{fs.writeFileSync(p,'x');return 'written'}catch(e){return e.code}};
console.log(JSON.stringify({uid:process.getuid(),bundle:w('/opt/trainer/x'),root:w('/x'),tmp:w('/tmp/x')}))`;
  const r = await podmanRun(spec, [node, '-e', script]);
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim()) as { uid: number; bundle: string; root: string; tmp: string };
  assert.deepEqual(o, { uid: 65534, bundle: 'EROFS', root: 'EROFS', tmp: 'written' });
});

test('with a built tfjs-node bound at /opt/node_modules the bundle trains on the native backend in the image', async (t) => {
  const nativeModules = join(root, '.tools/tfjs-node/node_modules');
  if (!existsSync(join(nativeModules, '@tensorflow/tfjs-node/lib'))) {
    t.skip('no native build: run trainer/image/build-tfjs-node.sh (opt-in, ~1.1 GB)');
    return;
  }
  if (!existsSync(join(dist, 'probe.mjs'))) await buildTrainer(dist);
  await ensureTrainerImage();
  const spec = trainerImageSpec({ distDir: dist, entry: 'probe.mjs', nativeModules });
  assert.ok(spec.binds.includes(`${nativeModules}:/opt/node_modules:ro`), spec.binds.join(' '));
  const r = await podmanRun(spec, spec.command);
  assert.equal(r.code, 0, r.stderr);
  const probe = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
    backend: string;
    versions: Record<string, string>;
    loss: number[];
  };
  assert.equal(probe.backend, 'tensorflow');
  assert.equal(probe.versions['tfjs-node'], '4.22.0');
  assert.match(probe.versions.libtensorflow ?? '', /^2\.\d+/);
  assert.ok((probe.loss[2] as number) < (probe.loss[0] as number), probe.loss.join(', '));
});

test('the trainer bundle answers --help inside the image', async (t) => {
  if (!existsSync(trainerEntry)) {
    t.skip('trainer/main.ts is not written yet (trainer program area)');
    return;
  }
  if (!existsSync(join(dist, 'trainer.mjs'))) await buildTrainer(dist);
  await ensureTrainerImage();
  const spec = trainerImageSpec({ distDir: dist });
  const r = await podmanRun(spec, [...spec.command, '--help']);
  // The bundle started and parsed its arguments inside the isolated container (the exit code of --help is
  // the trainer program's choice).
  assert.match(r.stdout + r.stderr, /Usage: trainer/, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stdout + r.stderr, /--input/);
  assert.doesNotMatch(r.stderr, /Error \[ERR_|Cannot find (module|package)|ReferenceError|Dynamic require/);
});
