/**
 * Issue #16, delete cascades and garbage collection, with the real oras and cosign CLIs. A model version with
 * referrers (an attestation and a signature of it, a provenance attached by the fallback tag scheme, cosign's
 * legacy `.sig` and `.att`, a `.sig` of the attestation) is deleted by digest: `oras discover` finds nothing,
 * the fallback and cosign tags are gone, the lineage index hears a `manifest.delete` for each; another version
 * sharing blobs with it is untouched. In the embedded store `aibomgen gc` (server stopped) then brings the
 * store's size on disk back to what it was before that version, byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLATFORM } from '../../server/identity.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { storeModes } from './front-modes.ts';
import { startHardenedFront } from './hardening-front.ts';

const REPO = 'team/model';

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const env = { ...process.env, HOME: cwd, DOCKER_CONFIG: join(cwd, 'docker'), COSIGN_PASSWORD: 'pw' };
  return new Promise((resolve) =>
    execFile(cmd, args, { cwd, env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

async function ok(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}\n${r.out}`);
  return r.out;
}

const digestIn = (out: string) => /Digest: (sha256:[a-f0-9]{64})/.exec(out)![1]!;

/** Bytes of every file under the embedded store's root (the in-use marks of a running server aside). */
async function storeBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === 'in-use') continue;
    const p = join(dir, e.name);
    n += e.isDirectory() ? await storeBytes(p) : (await stat(p)).size;
  }
  return n;
}

async function tags(srv: TestServer): Promise<string[]> {
  const res = await fetch(`${srv.url}/v2/${REPO}/tags/list`);
  return ((await res.json()) as { tags?: string[] }).tags ?? [];
}

async function referrers(srv: TestServer, digest: string): Promise<string[]> {
  const res = await fetch(`${srv.url}/v2/${REPO}/referrers/${digest}`);
  return ((await res.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
}

for (const mode of storeModes) {
  test(`deleting a version takes its referrers, theirs, and its fallback/cosign tags with it; gc frees its bytes (${mode})`, async () => {
    const work = await mkdtemp(join(tmpdir(), 'aibomgen-gc-'));
    const dataDir = join(work, 'data');
    const front = await startHardenedFront(mode, { auth: 'off', dataDir });
    let srv = front.srv;
    let reopened: TestServer | undefined;
    let closed = false;
    try {
      const shared = randomBytes(64 * 1024);
      await writeFile(join(work, 'shared.bin'), shared);
      await writeFile(join(work, 'a.bin'), randomBytes(32 * 1024));
      await writeFile(join(work, 'b.bin'), randomBytes(256 * 1024));
      await writeFile(join(work, 'c.bin'), randomBytes(16 * 1024));
      await writeFile(join(work, 'aibom.json'), JSON.stringify({ bomFormat: 'CycloneDX', n: 1 }));
      await writeFile(join(work, 'sig.txt'), 'a signature of the attestation');
      await writeFile(join(work, 'prov.json'), JSON.stringify({ predicate: 'provenance' }));
      const ref = () => `${srv.hostPort}/${REPO}`;
      // Version 1.0: stays. It shares a blob (and oras's empty config) with 2.0.
      await ok('oras', ['push', '--plain-http', `${ref()}:1.0`, 'shared.bin', 'a.bin'], work);
      const root = join(dataDir, 'registry');
      const before = mode === 'embedded' ? await storeBytes(root) : 0;

      // Version 2.0 and everything that describes it.
      const b = digestIn(await ok('oras', ['push', '--plain-http', `${ref()}:2.0`, 'shared.bin', 'b.bin'], work));
      const attach = async (subject: string, type: string, file: string, ...extra: string[]) =>
        digestIn(
          await ok(
            'oras',
            ['attach', '--plain-http', ...extra, '--artifact-type', type, `${ref()}@${subject}`, file],
            work,
          ),
        );
      const r1 = await attach(b, 'application/vnd.test.aibom', 'aibom.json');
      const r2 = await attach(r1, 'application/vnd.test.signature', 'sig.txt');
      const r3 = await attach(
        b,
        'application/vnd.test.provenance',
        'prov.json',
        '--distribution-spec',
        'v1.1-referrers-tag',
      );
      await ok('cosign', ['generate-key-pair'], work);
      const legacy = ['--key', 'cosign.key', '--use-signing-config=false', '--tlog-upload=false'];
      const cosignArgs = [...legacy, '--new-bundle-format=false', '--allow-insecure-registry', '--yes'];
      await ok('cosign', ['sign', ...cosignArgs, `${ref()}@${b}`], work);
      await ok('cosign', ['sign', ...cosignArgs, `${ref()}@${r1}`], work);
      await ok(
        'cosign',
        ['attest', ...cosignArgs, '--type', 'custom', '--predicate', 'prov.json', `${ref()}@${b}`],
        work,
      );
      const tagOf = (d: string) => d.replace(':', '-');
      const evidence = [tagOf(b), `${tagOf(b)}.att`, `${tagOf(b)}.sig`, `${tagOf(r1)}.sig`];
      assert.deepEqual(await tags(srv), ['1.0', '2.0', ...evidence].sort());
      assert.deepEqual((await referrers(srv, b)).sort(), [r1, r3].sort());
      assert.deepEqual(await referrers(srv, r1), [r2]);

      const deletedEvents: string[] = [];
      srv.services.events.on('manifest.delete', (e) => deletedEvents.push(e.digest));
      const res = await fetch(`${srv.url}/v2/${REPO}/manifests/${b}`, { method: 'DELETE' });
      assert.equal(res.status, 202);

      const discovered = await run('oras', ['discover', '--plain-http', '--format', 'json', `${ref()}@${b}`], work);
      if (discovered.code === 0)
        assert.deepEqual((JSON.parse(discovered.out) as { referrers?: unknown[] }).referrers ?? [], [], discovered.out);
      else assert.match(discovered.out, /not found/, 'oras discover finds nothing');
      assert.deepEqual(await referrers(srv, b), []);
      assert.deepEqual(await referrers(srv, r1), [], 'referrers of referrers went too');
      assert.deepEqual(await tags(srv), ['1.0'], 'the version, fallback and cosign tags are gone');
      for (const d of [b, r1, r2, r3]) {
        const m = await fetch(`${srv.url}/v2/${REPO}/manifests/${d}`);
        assert.equal(m.status, 404, `${d} gone`);
        await m.arrayBuffer();
      }
      for (const d of [b, r1, r2, r3]) assert.ok(deletedEvents.includes(d), `manifest.delete for ${d}`);
      assert.equal(deletedEvents.length, 8, 'the version, 3 referrers, the fallback index and 3 cosign manifests');
      const rows = await srv.services.db
        .selectFrom('registry_manifests')
        .select('digest')
        .where('repo', '=', REPO)
        .execute();
      assert.equal(rows.length, 1, 'only 1.0 is indexed');

      // deleteVersion, in process and by tag: a third version with a referrer.
      const c = digestIn(await ok('oras', ['push', '--plain-http', `${ref()}:3.0`, 'c.bin'], work));
      const rc = await attach(c, 'application/vnd.test.aibom', 'aibom.json');
      assert.deepEqual(await srv.services.registry.deleteVersion(PLATFORM, REPO, '3.0'), [c, rc], 'the version first');
      assert.equal(await srv.services.registry.deleteVersion(PLATFORM, REPO, '3.0'), null, 'unknown now');

      // 1.0 is whole.
      await ok('oras', ['pull', '--plain-http', '-o', join(work, 'pulled'), `${ref()}:1.0`], work);
      assert.deepEqual(await readFile(join(work, 'pulled', 'shared.bin')), shared);
      if (mode === 'upstream') return;

      await front.close();
      closed = true;
      const grown = await storeBytes(root);
      assert.ok(grown > before, 'deleting leaves the blobs until gc');
      const gc = (...args: string[]) =>
        run(process.execPath, [join(process.cwd(), 'cli/bin.js'), 'gc', '--data-dir', dataDir, ...args], work);
      const dry = await gc('--dry-run');
      assert.equal(dry.code, 0, dry.out);
      const m = /would remove (\d+) blob\(s\), (\d+) bytes/.exec(dry.out);
      assert.ok(m, dry.out);
      assert.ok(Number(m[2]) > 256 * 1024, 'b.bin and the rest would go');
      assert.match(dry.out, new RegExp((await digestOfFile(join(work, 'b.bin'))).slice(7)));
      assert.doesNotMatch(dry.out, new RegExp(await digestOfFile(join(work, 'shared.bin'))), 'a shared blob stays');
      assert.equal(await storeBytes(root), grown, 'a dry run changes nothing');
      const real = await gc();
      assert.equal(real.code, 0, real.out);
      assert.match(real.out, new RegExp(`removed ${m[1]} blob\\(s\\), ${m[2]} bytes`));
      assert.equal(await storeBytes(root), before, 'the store is back to its size before 2.0, in bytes');
      assert.match((await gc()).out, /removed 0 blob\(s\), 0 bytes/, 'nothing more to collect');

      // 1.0 still pulls, byte-identical, from a server on the collected store.
      srv = reopened = await startTestServer({ auth: 'off', dataDir });
      await ok('oras', ['pull', '--plain-http', '-o', join(work, 'again'), `${ref()}:1.0`], work);
      assert.deepEqual(await readFile(join(work, 'again', 'shared.bin')), shared);
      // And gc refuses while a server has the store open.
      const busy = await gc('--dry-run');
      assert.notEqual(busy.code, 0);
      assert.match(busy.out, /in use/);
    } finally {
      if (!closed) await front.close();
      await reopened?.close();
      await rm(work, { recursive: true, force: true });
    }
  });
}

async function digestOfFile(path: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return `sha256:${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`;
}
