/**
 * The README, followed literally on a fresh clone: `npm run demo` exits 0 (with auth on, the default) and prints a
 * model reference that `oras pull` and `cosign verify-attestation` accept; then, with `npm start` serving the same
 * data, every shell block of "Use it" and "Verify with tools nobody here wrote" runs as pasted (only the port
 * differs) — the token they use is the administrator token the demo's first start left in data/keys/admin.token.
 *
 * The clone is of the working tree as it is (committed or not: what this run tests), and gets the checkout's
 * node_modules as hard links instead of a 2-minute `npm ci` (demo.sh would run `npm ci` itself when they are
 * missing); everything else comes from the clone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../helpers/net.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const PATH = `${join(root, '.tools', 'bin')}:${process.env.PATH}`;

/** The ```sh blocks of a README section (up to the next "## " heading). */
export function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const clone = await mkdtemp(join(tmpdir(), 'aibomgen-readme-'));
let server: ChildProcess | undefined;
test.after(async () => {
  // npm start → sh → node: the whole process group goes, or the server outlives the test.
  if (server?.pid) {
    const exited = new Promise((r) => server!.once('exit', r));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  await rm(clone, { recursive: true, force: true });
});

/** `git clone`, then the working tree's changes on top: modified and new files (not ignored ones), deletions. */
async function cloneWorkingTree(): Promise<void> {
  await run('git', ['clone', '--quiet', root, clone]);
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const f of stdout.split('\0').filter(Boolean)) {
    if (existsSync(join(root, f))) {
      if (statSync(join(root, f)).isFile()) await cp(join(root, f), join(clone, f), { force: true });
    } else await rm(join(clone, f), { force: true });
  }
}

test('README on a fresh clone: npm run demo, then every pasted example', async () => {
  await cloneWorkingTree();
  await run('cp', ['-al', join(root, 'node_modules'), join(clone, 'node_modules')]);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, PORT: String(port), NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('AIBOMGEN_')) delete env[k]; // the defaults: auth on

  const t0 = Date.now();
  const demo = await run('npm', ['run', 'demo'], { cwd: clone, env, maxBuffer: 16 * 1024 * 1024 });
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`# npm run demo took ${seconds.toFixed(1)} s\n`);
  const ref = /^MODEL_REF=(\S+)$/m.exec(demo.stdout)?.[1];
  assert.ok(ref, `no MODEL_REF in:\n${demo.stdout}`);
  assert.match(ref, new RegExp(`^127\\.0\\.0\\.1:${port}/models/demo-classifier:`));
  // The demo's first start made the administrator token: printed once on stderr, kept 0600 for the examples below.
  const adminToken = join(clone, 'data', 'keys', 'admin.token');
  assert.equal(statSync(adminToken).mode & 0o777, 0o600);
  assert.ok(demo.stderr.includes((await readFile(adminToken, 'utf8')).trim()), 'the token was printed once');
  assert.match(demo.stdout, /auth: on/);

  // Serve the same ./data again, as the demo's output says.
  server = spawn('npm', ['start'], { cwd: clone, env, stdio: 'ignore', detached: true });
  const url = `http://127.0.0.1:${port}`;
  for (
    let i = 0;
    i < 300 &&
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));

  const opts = { cwd: clone, env, maxBuffer: 16 * 1024 * 1024 };
  const pulled = join(clone, 'demo-pulled');
  await run('oras', ['pull', '--plain-http', '-o', pulled, ref], opts);
  assert.ok((await readFile(join(pulled, 'model', 'model.json'), 'utf8')).includes('"modelTopology"'));
  await run(
    'cosign',
    [
      'verify-attestation',
      '--key',
      'data/keys/platform.pub',
      '--type',
      'cyclonedx',
      '--insecure-ignore-tlog',
      '--allow-insecure-registry',
      '--new-bundle-format',
      ref,
    ],
    { ...opts, env: { ...env, HOME: clone } },
  );

  const readme = await readFile(join(clone, 'README.md'), 'utf8');
  const blocks = [...shellBlocks(readme, 'Use it'), ...shellBlocks(readme, 'Verify with tools nobody here wrote')];
  assert.ok(blocks.length >= 4);
  for (const block of blocks) {
    // `npm run demo` / `npm start` already ran above; everything else runs exactly as written, on our port.
    const script = block
      .split('\n')
      .filter((l) => !/^npm (run demo|start)\b/.test(l))
      .join('\n')
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    // The CLI's default server is http://127.0.0.1:8080; AIBOMGEN_SERVER moves it to our port the same way.
    const r = await run('bash', ['-euo', 'pipefail', '-c', script], {
      ...opts,
      env: { ...env, HOME: clone, AIBOMGEN_SERVER: url },
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    assert.ok(
      !('code' in r) || r.code === 0 || r.code === undefined,
      `README block failed:\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
});
