/**
 * Per-worker keys on a multi-node install (Postgres, a real distribution registry, `aibomgen worker` processes):
 * a worker makes and enrolls its own key and takes no job until `aibomgen workers approve`; the layouts then
 * list its key and its jobs verify (our verifier, in-toto-verify Debian 1.3.1 and PyPI). `aibomgen workers
 * revoke` re-signs the layouts without it: its past links fail in-toto-verify and our verifier, the other
 * worker's still pass, and the revoked worker takes no new job. With the layout key offline, an approval waits
 * for layouts signed with `aibomgen keys sign-layout` on the machine holding the key, then uploaded.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEY_FILES } from '../../server/attest/keys.ts';
import { type Link, linkFileName } from '../../server/attest/link.ts';
import type { WorkerKeyView } from '../../server/attest/worker-keys.ts';
import { OciClient } from '../../server/oci/client.ts';
import { referrerBlob } from '../attest/job-kind-sample.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { type Cluster, startCluster } from '../helpers/cluster.ts';

const cluster: Cluster | undefined = await startCluster(1);
const work = mkdtempSync(join(tmpdir(), 'aibomgen-worker-keys-'));
after(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

const DEBIAN = '/usr/bin/in-toto-verify';
const PYPI = join(process.cwd(), '.tools/venv/bin/in-toto-verify');

const api = (): string => cluster!.apis[0]!.url;

/**
 * `aibomgen …` against the API node; returns stdout, stderr and the exit status. Asynchronous: the API node runs
 * in this process, and a synchronous spawn would stop it from answering.
 */
async function cli(...args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, ['cli/bin.js', ...args], {
    env: { ...process.env, AIBOMGEN_SERVER: api(), AIBOMGEN_TOKEN: '' },
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const status = await new Promise<number | null>((r) => p.once('close', (code) => r(code)));
  return { status, out, err };
}

async function keysList(): Promise<WorkerKeyView[]> {
  const res = await fetch(`${api()}/developer/admin/worker-keys`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { keys: WorkerKeyView[] }).keys;
}

async function enrolled(worker: string): Promise<WorkerKeyView> {
  for (let i = 0; i < 200; i++) {
    const k = (await keysList()).find((x) => x.workerId === worker);
    if (k) return k;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`worker ${worker} never enrolled a key`);
}

/** A worker process with its own data directory and a key directory that survives restarts. */
function worker(id: string): ChildProcess {
  return cluster!.worker(id, { AIBOMGEN_WORKER_KEYS: 'own', AIBOMGEN_WORKER_KEY_DIR: join(work, `key-${id}`) });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
}

async function job(name: string): Promise<string> {
  const r = await submit(api(), await tabularForm(work, { samples: 80, epochs: 1, name }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.job_id;
}

interface Done {
  ref: string;
  link: Link;
}

async function done(id: string): Promise<Done> {
  const j = await waitForState(api(), id, ['succeeded', 'failed'], 180_000);
  assert.equal(j.status, 'succeeded', j.reason);
  const pub = j.publication!;
  const d = pub.attestations.find((a) => a.kind === 'in-toto-link')!.digest;
  const link = JSON.parse((await referrerBlob(new OciClient(api()), pub.repository, d)).toString('utf8')) as Link;
  return { ref: `${pub.repository}:${pub.tag}`, link };
}

/** in-toto-verify with the layout and root key served by /verifier (what a verifier elsewhere downloads). */
async function inTotoVerify(bin: string, link: Link): Promise<{ status: number | null; out: string }> {
  const dir = mkdtempSync(join(work, 'verify-'));
  const step = link.signed.name;
  for (const [file, path] of [
    [`${step}.layout`, `/verifier/layouts/${step}.layout`],
    ['root.pub', '/verifier/keys/root.pub'],
    ['root.intoto.json', '/verifier/keys/root.intoto.json'],
  ] as const) {
    const res = await fetch(`${api()}${path}`);
    assert.equal(res.status, 200, path);
    writeFileSync(join(dir, file), Buffer.from(await res.arrayBuffer()));
  }
  const links = join(dir, 'links');
  mkdirSync(links);
  writeFileSync(join(links, linkFileName(link)), JSON.stringify(link));
  const keyArgs =
    bin === DEBIAN
      ? ['--layout-keys', join(dir, 'root.intoto.json'), '--key-types', 'ecdsa']
      : ['--verification-keys', join(dir, 'root.pub')];
  const r = spawnSync(bin, ['--layout', join(dir, `${step}.layout`), ...keyArgs, '--link-dir', links], {
    encoding: 'utf8',
    cwd: links,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function verified(ref: string): Promise<{ status: number; failed: string[] }> {
  const res = await fetch(`${api()}/verifier/verify/${ref}`);
  const body = (await res.json()) as { checks: { name: string; passed: boolean; reason?: string }[] };
  return { status: res.status, failed: body.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.reason}`) };
}

/** The evidence kinds GraphQL counts for a model version (the lineage index's verdicts). */
async function countedKinds(ref: string): Promise<string[]> {
  const res = await fetch(`${api()}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'query($r: String) { modelVersion(ref: $r) { attestations { kind } } }',
      variables: { r: ref },
    }),
  });
  const body = (await res.json()) as { data?: { modelVersion: { attestations: { kind: string }[] } | null } };
  return (body.data?.modelVersion?.attestations ?? []).map((a) => a.kind).sort();
}

async function stillQueued(id: string, ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  const j = await waitForState(api(), id, ['queued', 'running', 'succeeded', 'failed'], 5000);
  assert.equal(j.status, 'queued', `job ${id} should wait for an active worker key, is ${j.status}`);
}

test('worker keys: enroll, approve, sign, revoke, and a layout signed offline', {
  skip: cluster ? false : 'no PostgreSQL here',
  timeout: 600_000,
}, async () => {
  // 1. A new worker enrolls its own key and takes nothing while the key is pending.
  let w1 = worker('w1');
  const k1 = await enrolled('w1');
  assert.equal(k1.state, 'pending');
  assert.equal(k1.inLayout, false);
  const j1 = await job('wk-1');
  await stillQueued(j1, 3000);

  // 2. Approved with the CLI: the layouts are re-signed with its key, and the job runs and verifies.
  const approved = await cli('workers', 'approve', 'w1');
  assert.equal(approved.status, 0, approved.err);
  assert.match(approved.err, /layouts re-signed/);
  const d1 = await done(j1);
  assert.equal(d1.link.signatures[0]?.keyid, k1.keyId, 'the worker signed the link with its own key');
  assert.equal((await verified(d1.ref)).status, 200, (await verified(d1.ref)).failed.join('\n'));

  // 3. A second worker, approved; the first one stopped so the next job is the second's.
  await stop(w1);
  const w2 = worker('w2');
  const k2 = await enrolled('w2');
  assert.equal((await cli('workers', 'approve', k2.keyId.slice(0, 12))).status, 0);
  const d2 = await done(await job('wk-2'));
  assert.equal(d2.link.signatures[0]?.keyid, k2.keyId);
  for (const bin of [DEBIAN, PYPI])
    for (const d of [d1, d2]) {
      const r = await inTotoVerify(bin, d.link);
      assert.equal(r.status, 0, `${bin} ${d.ref}: ${r.out}`);
    }

  assert.ok((await countedKinds(d1.ref)).includes('in-toto-link'), 'the lineage index counts w1’s evidence');

  // 4. Revoking w1 re-signs the layouts without it: its past link fails, w2's passes, in both in-totos.
  const revoked = await cli('workers', 'revoke', 'w1');
  assert.equal(revoked.status, 0, revoked.err);
  for (const bin of [DEBIAN, PYPI]) {
    const r1 = await inTotoVerify(bin, d1.link);
    assert.notEqual(r1.status, 0, `${bin} must refuse the revoked worker's link: ${r1.out}`);
    const r2 = await inTotoVerify(bin, d2.link);
    assert.equal(r2.status, 0, `${bin}: ${r2.out}`);
  }
  const v1 = await verified(d1.ref);
  assert.equal(v1.status, 422, 'the revoked worker’s model no longer verifies');
  assert.match(v1.failed.join('\n'), /in-toto link present: .*not a trusted signer/, v1.failed.join('\n'));
  assert.equal((await verified(d2.ref)).status, 200);
  assert.deepEqual(await countedKinds(d1.ref), [], 'GraphQL counts none of the revoked worker’s evidence');
  assert.ok((await countedKinds(d2.ref)).includes('in-toto-link'));
  assert.equal((await keysList()).find((k) => k.keyId === k1.keyId)?.state, 'revoked');
  const again = await cli('workers', 'approve', 'w1');
  assert.notEqual(again.status, 0, 'a revoked key cannot be approved again');
  assert.match(again.err, /no worker key or worker named w1|is revoked/);

  // 5. The revoked worker, back (same key), takes no job: with w2 stopped, a new job waits.
  await stop(w2);
  w1 = worker('w1');
  const j3 = await job('wk-3');
  await stillQueued(j3, 4000);

  // 6. The layout key goes offline. A third worker is approved, but takes nothing until the layouts that list
  // it are signed on the machine holding the key and uploaded.
  const offline = join(work, 'offline-root.key');
  renameSync(join(cluster!.keysDir, KEY_FILES.rootKey), offline);
  const w3 = worker('w3');
  const k3 = await enrolled('w3');
  const pending = await cli('workers', 'approve', 'w3');
  assert.equal(pending.status, 0, pending.err);
  assert.match(pending.err, /sign the draft offline/);
  assert.equal((await keysList()).find((k) => k.keyId === k3.keyId)?.inLayout, false);
  await stillQueued(j3, 3000);
  const draft = await cli('keys', 'layout-draft');
  assert.equal(draft.status, 0, draft.err);
  writeFileSync(join(work, 'draft.json'), draft.out);
  const signed = await cli('keys', 'sign-layout', join(work, 'draft.json'), '--root-key', offline);
  assert.equal(signed.status, 0, signed.err);
  // Layouts signed by any other key are refused (here: a worker's key instead of the layout key).
  const forged = await cli(
    'keys',
    'sign-layout',
    join(work, 'draft.json'),
    '--root-key',
    join(work, 'key-w1', 'worker.key'),
  );
  assert.equal(forged.status, 0, forged.err);
  writeFileSync(join(work, 'forged.json'), forged.out);
  const wrong = await cli('keys', 'upload-layout', join(work, 'forged.json'));
  assert.notEqual(wrong.status, 0, 'layouts signed by another key are refused');
  assert.match(wrong.err, /not signed by the layout key in force/);
  writeFileSync(join(work, 'layouts.json'), signed.out);
  const up = await cli('keys', 'upload-layout', join(work, 'layouts.json'));
  assert.equal(up.status, 0, up.err);
  const d3 = await done(j3);
  assert.equal(d3.link.signatures[0]?.keyid, k3.keyId, 'the job waited for w3, never ran on the revoked w1');
  assert.equal((await verified(d3.ref)).status, 200);
  for (const bin of [DEBIAN, PYPI]) assert.equal((await inTotoVerify(bin, d3.link)).status, 0);
  await stop(w1);
  await stop(w3);
});
