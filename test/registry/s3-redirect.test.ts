/**
 * Upstream mode on object storage: distribution 2.8 with its S3 driver (registry-config/s3.yml) on a real S3
 * server (SeaweedFS's gateway), behind the front. A blob GET through the front is answered with distribution's
 * redirect to a pre-signed S3 URL, so the client downloads the bytes from S3 itself:
 * - `oras pull` of a 1 GiB model through the front is byte-identical, and the front sends < 1 MiB for it (bytes
 *   counted by a TCP relay in front of the front, so every byte the front writes to the client is seen);
 * - with AIBOMGEN_REGISTRY_BLOB_REDIRECT=false the same relay sees the blob's bytes (the measurement can fail);
 * - in-process readers (the verifier, job inputs) still get the bytes: the redirect is followed for them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PLATFORM } from '../../server/identity.ts';
import { startDistribution, type Distribution } from '../helpers/distribution.ts';
import { startS3, type S3Server } from '../helpers/s3.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const GiB = 1024 ** 3;

let s3: S3Server;
let up: Distribution;
let work: string;
const servers: TestServer[] = [];

before(async () => {
  s3 = await startS3();
  up = await startDistribution({ s3 });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-s3-redirect-'));
});
after(async () => {
  for (const s of servers) await s.close();
  await up?.stop();
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Relay {
  hostPort: string;
  /** The port relayed to (set once the front listens: the front must know the relay's host name first). */
  target: number;
  sent(): number;
  close(): Promise<void>;
}

/** A TCP relay that counts the bytes flowing back to clients (what the server behind it sends). */
async function countingRelay(): Promise<Relay> {
  let sent = 0;
  const relay = { target: 0 } as Relay;
  const server: Server = createServer((client) => {
    const upstream = connect(relay.target, '127.0.0.1');
    upstream.on('data', (d: Buffer) => {
      sent += d.length;
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: own } = server.address() as { port: number };
  return Object.assign(relay, {
    hostPort: `127.0.0.1:${own}`,
    sent: () => sent,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}

/** A front on the S3-backed distribution, reachable directly and through a counting relay. */
async function front(redirect: boolean): Promise<{ srv: TestServer; relay: Relay }> {
  const relay = await countingRelay();
  const srv = await startTestServer({
    registryStore: 'upstream',
    upstreamUrl: up.url,
    registryBlobRedirect: redirect ? 'true' : 'false',
    allowedHosts: relay.hostPort, // the relay forwards the client's Host header as it is
  });
  relay.target = Number(srv.hostPort.split(':')[1]);
  servers.push(srv);
  return { srv, relay };
}

async function randomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = 8 * 1024 * 1024;
  for (let left = bytes; left > 0; left -= chunk) {
    const b = randomBytes(Math.min(chunk, left));
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return hash.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(b as Buffer);
  return h.digest('hex');
}

const oras = (args: string[], cwd: string) => run('oras', args, { cwd, maxBuffer: 1 << 24 });

test('oras pull of a 1 GiB model through the front follows the redirect: byte-identical, < 1 MiB sent by the front', async (t) => {
  const { srv, relay } = await front(true);
  const dir = join(work, 'push');
  await rm(dir, { recursive: true, force: true });
  await run('mkdir', ['-p', dir]);
  const want = await randomFile(join(dir, 'model.bin'), GiB);
  await oras(['push', '--plain-http', `${srv.hostPort}/alice/big:1`, 'model.bin'], dir);

  try {
    const out = join(work, 'pulled');
    await oras(['pull', '--plain-http', '-o', out, `${relay.hostPort}/alice/big:1`], work);
    assert.equal(await sha256File(join(out, 'model.bin')), want, 'the pulled file is the pushed one');
    assert.ok(relay.sent() < 1024 * 1024, `the front sent ${relay.sent()} bytes for a 1 GiB pull`);
    t.diagnostic(`the front sent ${relay.sent()} bytes for the 1 GiB pull`);
    await rm(out, { recursive: true, force: true });
  } finally {
    await relay.close();
  }
  // In process (the verifier's and job inputs' path) the bytes themselves come back.
  const blob = await srv.services.registry.readBlob(PLATFORM, 'alice/big', `sha256:${want}`, { start: 0, end: 15 });
  assert.ok(blob && !blob.redirect, 'an in-process read gets bytes, not a URL');
  const head: Buffer[] = [];
  for await (const b of blob.body) head.push(b as Buffer);
  assert.equal(Buffer.concat(head).length, 16);
  await rm(dir, { recursive: true, force: true });
});

test('with AIBOMGEN_REGISTRY_BLOB_REDIRECT=false the front relays the bytes (what the relay counts is real)', async () => {
  const { srv, relay } = await front(false);
  const dir = join(work, 'small');
  await run('mkdir', ['-p', dir]);
  await writeFile(join(dir, 'w.bin'), randomBytes(4 * 1024 * 1024));
  await oras(['push', '--plain-http', `${srv.hostPort}/alice/small:1`, 'w.bin'], dir);
  try {
    await oras(['pull', '--plain-http', '-o', join(work, 'small-out'), `${relay.hostPort}/alice/small:1`], work);
    assert.ok(relay.sent() > 4 * 1024 * 1024, `the front sent ${relay.sent()} bytes for a 4 MiB pull`);
  } finally {
    await relay.close();
  }
});
