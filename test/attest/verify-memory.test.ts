/**
 * Verification in bounded memory, measured on the server as `npm start` runs it (the bundle, its own process):
 * a 1 GiB body posted to /verifier/verify_file_hash is hashed as it streams in, and a model with a 1 GiB layer
 * is verified by hashing its blobs as streams. The server's peak RSS (VmHWM in /proc/<pid>/status) stays under
 * 250 MB through both. The 1 GiB is generated as a stream here, never held in memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import { buildServer } from '../../server/build.ts';
import type { VerificationReport } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { freePort } from '../helpers/net.ts';

const GIB = 1024 ** 3;
const CHUNK = 1 << 20;
const LIMIT_MB = 250;
let work: string;
let child: ChildProcess;
let url: string;
let hostPort: string;
let dataDir: string;

/** The server's peak resident set so far (kB → MB). */
function peakMb(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

/** 1 GiB of varied bytes, one 1 MiB chunk at a time (each chunk distinct: the counter is in it). */
function* gib(): Generator<Buffer> {
  const base = randomBytes(CHUNK);
  for (let i = 0; i < GIB / CHUNK; i++) {
    const c = Buffer.from(base);
    c.writeUInt32BE(i, 0);
    yield c;
  }
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'aibomgen-verify-memory-'));
  dataDir = join(work, 'data');
  // The bundle `npm start` runs, built beside the sources (test/.out is ignored) so its packages resolve.
  const bundle = join(process.cwd(), 'test', '.out', `verify-memory-${process.pid}`, 'main.mjs');
  await buildServer(bundle);
  const port = await freePort();
  hostPort = `127.0.0.1:${port}`;
  url = `http://${hostPort}`;
  child = spawn(process.execPath, ['--max-semi-space-size=1', bundle], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AIBOMGEN_DATA_DIR: dataDir,
      AIBOMGEN_AUTH: 'off',
      AIBOMGEN_RUNNER: 'process',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${url}/readyz`).then(
      async (r) => (await r.arrayBuffer(), r.ok),
      () => false,
    );
    if (ok) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not start: ${stderr}`);
});
after(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await rm(work, { recursive: true, force: true });
  await rm(join(process.cwd(), 'test', '.out', `verify-memory-${process.pid}`), { recursive: true, force: true });
});

test('a 1 GiB body to /verifier/verify_file_hash is hashed as it streams: verified, server peak RSS < 250 MB', async (t) => {
  const boundary = `aibomgen${randomBytes(8).toString('hex')}`;
  const req = request(`${url}/verifier/verify_file_hash`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  const answer = once(req, 'response');
  const h = createHash('sha256');
  req.write(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  for (const c of gib()) {
    h.update(c);
    if (!req.write(c)) await once(req, 'drain');
  }
  // The expected hash after the file: the server hashes first, compares at the end.
  const want = h.digest('hex');
  req.end(
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="expected_hash"\r\n\r\n${want}\r\n--${boundary}--\r\n`,
  );
  const [res] = (await answer) as [import('node:http').IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { verified: boolean; actual_hash: string };
  assert.equal(res.statusCode, 200, JSON.stringify(body));
  assert.equal(body.actual_hash, want);
  const peak = peakMb();
  t.diagnostic(`server peak RSS ${peak.toFixed(0)} MB`);
  assert.ok(peak < LIMIT_MB, `server peak RSS ${peak.toFixed(0)} MB while 1 GiB was posted`);
});

test('a model with a 1 GiB layer verifies with its blobs hashed as streams: server peak RSS < 250 MB', async (t) => {
  const root = join(work, 'job');
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  const weights = createWriteStream(join(root, 'out', 'model', 'weights.bin'));
  for (const c of gib()) if (!weights.write(c)) await once(weights, 'drain');
  weights.end();
  await once(weights, 'close');
  writeFileSync(join(root, 'out', 'model', 'model.json'), '{"modelTopology":{}}');
  writeFileSync(join(root, 'out', 'metrics.json'), '{"loss":0.5}');
  writeFileSync(join(root, 'in', 'data.csv'), 'x,y\n1,0\n');
  writeFileSync(join(root, 'stdout'), 'done\n');
  writeFileSync(join(root, 'stderr'), '');
  // Published with the server's own key, through its /v2/ (as a job's publication would be).
  const publisher = createPublisher({
    target: new OciClient(url),
    registryHost: hostPort,
    loadKey: () => loadPrivateKey(keysDir(dataDir), KEY_FILES.platformKey),
  });
  const pub = await publisher.publish({
    jobId: 'job-big',
    owner: 'anonymous',
    framework: 'tfjs',
    params: {},
    metadata: { model_name: 'big', model_version: '1.0.0' },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 8 }],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'train.js'] },
    queuedAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  });
  const res = await fetch(`${url}/verifier/verify/models/big:1.0.0`);
  const report = (await res.json()) as VerificationReport;
  assert.equal(res.status, 200, JSON.stringify(report.checks.filter((c) => !c.passed)));
  assert.equal(report.digest, pub.digest);
  assert.ok(report.checks.some((c) => c.name === 'blob model/weights.bin' && c.passed));
  const peak = peakMb();
  t.diagnostic(`server peak RSS ${peak.toFixed(0)} MB`);
  assert.ok(peak < LIMIT_MB, `server peak RSS ${peak.toFixed(0)} MB after verifying a 1 GiB model`);
});

/**
 * POSTs up to 1 GiB to `path` on a raw socket (chunked, no declared length: the server must count as it reads)
 * until an answer arrives; returns the answer's status line and how much was sent. A raw socket, because the
 * server closes the connection after its 413 and an http client's failed write would drop the answer.
 */
async function postUntilAnswered(path: string): Promise<{ status: number; sent: number }> {
  const { connect } = await import('node:net');
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await once(socket, 'connect');
  socket.write(
    `POST /verifier/${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
  );
  let sent = 0;
  for (const c of gib()) {
    if (answer || socket.destroyed) break;
    sent += c.length;
    // One write per chunk, framing included: a partial frame would be a malformed request (400), not a big one.
    const ok = socket.write(Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]));
    if (!ok) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
  }
  if (!socket.destroyed) socket.end('0\r\n\r\n');
  await closed;
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]), sent };
}

test('a 1 GiB body to each JSON verifier endpoint is refused at its cap (413), never read whole: peak RSS < 250 MB', async (t) => {
  for (const path of [
    'verify_in-toto_link',
    'verify_bom_and_link',
    'verify_registry_artifacts',
    'verify_minio_artifacts',
  ]) {
    const { status, sent } = await postUntilAnswered(path);
    assert.equal(status, 413, path);
    assert.ok(sent < GIB, `${path}: answered before the whole body was sent (${sent} bytes sent)`);
  }
  const peak = peakMb();
  t.diagnostic(`server peak RSS ${peak.toFixed(0)} MB`);
  assert.ok(peak < LIMIT_MB, `server peak RSS ${peak.toFixed(0)} MB while 1 GiB bodies were posted`);
});

test('a model zip inflating ~229× to 4 GiB is refused while it inflates, streamed to disk: peak RSS < 250 MB', async (t) => {
  const { writeZipBomb } = await import('../helpers/zip-bomb.ts');
  const { openAsBlob } = await import('node:fs');
  const { writeTabularInputs } = await import('../helpers/jobs.ts');
  const zip = join(work, 'model.zip');
  const zipBytes = await writeZipBomb(zip, 'model/weights.bin', 4 * GIB - 1);
  t.diagnostic(`bomb: ${zipBytes} bytes inflating to 4 GiB (${((4 * GIB) / zipBytes).toFixed(0)}×)`);
  const files = await writeTabularInputs(work, 50);
  const form = new FormData();
  form.set('model', await openAsBlob(zip), 'model.zip');
  form.set('dataset', await openAsBlob(files.csv), 'dataset.csv');
  form.set('dataset_definition', await openAsBlob(files.definition), 'dataset_definition.json');
  form.set('framework', 'tfjs');
  const res = await fetch(`${url}/developer/submit_job_by_model_and_data`, { method: 'POST', body: form });
  const body = (await res.json()) as { error: string; detail: string };
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.match(body.detail, /model: model inflates to more than \d+ bytes|zip bomb/);
  const jobs = (await (await fetch(`${url}/developer/jobs`)).json()) as { items: unknown[] };
  assert.deepEqual(jobs.items, [], 'no job was queued');
  const peak = peakMb();
  t.diagnostic(`server peak RSS ${peak.toFixed(0)} MB`);
  assert.ok(peak < LIMIT_MB, `server peak RSS ${peak.toFixed(0)} MB while a 4 GiB zip bomb was refused`);
});
