import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Embedded-store blobs leave the server through sendFileSpan (reused buffers, 512 KiB reads): these
// check it over a real socket where its edges are — chunk boundaries, the last short chunk, an empty
// blob, several responses sharing the buffer pool, and a client that leaves mid-body.

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function push(srv: TestServer, repo: string, content: Buffer): Promise<string> {
  const d = sha256(content);
  const res = await fetch(`${srv.url}/v2/${repo}/blobs/uploads/?digest=${d}`, {
    method: 'POST',
    body: new Uint8Array(content),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(res.status, 201, await res.text());
  return d;
}

async function get(url: string, range?: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url, range ? { headers: { range } } : {});
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/** Open file descriptors of this process (the in-process server's) that point into its blob store. */
async function openBlobFiles(srv: TestServer): Promise<string[]> {
  const blobs = join(srv.dataDir, 'registry', 'blobs');
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith(blobs));
}

test('embedded blobs over a socket: whole, ranged across buffer boundaries, empty, concurrent, byte-identical', async () => {
  const srv = await startTestServer();
  try {
    const big = randomBytes(3 * 512 * 1024 + 12345); // more chunks than a response holds buffers, and a short last one
    const d = await push(srv, 'send/big', big);
    const url = `${srv.url}/v2/send/big/blobs/${d}`;

    const whole = await get(url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(big.length));
    assert.ok(whole.body.equals(big), 'whole blob byte-identical');

    for (const [start, end] of [
      [0, 0],
      [512 * 1024 - 1, 512 * 1024],
      [100, 2 * 512 * 1024 + 7],
      [big.length - 1, big.length - 1],
      [1000, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const r = await get(url, `bytes=${start}-${end === Number.MAX_SAFE_INTEGER ? '' : end}`);
      const last = Math.min(end, big.length - 1);
      assert.equal(r.status, 206, `range ${start}-${end}`);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${last}/${big.length}`);
      assert.ok(r.body.equals(big.subarray(start, last + 1)), `range ${start}-${end} byte-identical`);
    }
    const suffix = await get(url, 'bytes=-10');
    assert.ok(suffix.body.equals(big.subarray(big.length - 10)), 'suffix range');

    const empty = await get(`${srv.url}/v2/send/big/blobs/${await push(srv, 'send/big', Buffer.alloc(0))}`);
    assert.equal(empty.status, 200);
    assert.equal(empty.body.length, 0);

    // Eight responses at once share the buffer pool: none may see another's bytes.
    const others = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const b = randomBytes(700_000 + i * 99_999);
        return { b, d: await push(srv, `send/c${i}`, b), repo: `send/c${i}` };
      }),
    );
    const got = await Promise.all(
      [...others, ...others].map(async (o) => ({ o, r: await get(`${srv.url}/v2/${o.repo}/blobs/${o.d}`) })),
    );
    for (const { o, r } of got) assert.ok(r.body.equals(o.b), `${o.repo} byte-identical under concurrency`);
    assert.deepEqual(await openBlobFiles(srv), [], 'every blob file closed after its response');
  } finally {
    await srv.close();
  }
});

test('a client that leaves mid-body: the file is closed and the server serves the next request', async () => {
  const srv = await startTestServer();
  try {
    const big = randomBytes(24 * 1024 * 1024);
    const d = await push(srv, 'send/gone', big);
    const url = new URL(`${srv.url}/v2/send/gone/blobs/${d}`);
    await new Promise<void>((resolve, reject) => {
      const req = request(url, (res) => {
        res.once('data', () => {
          req.destroy(); // after the first bytes, long before 24 MiB
          resolve();
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
    let open: string[] = [];
    for (let i = 0; i < 50; i++) {
      open = await openBlobFiles(srv);
      if (open.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(open, [], 'the blob file was closed when the client went away');
    const again = await get(url.toString());
    assert.ok(again.body.equals(big), 'the next pull is whole and byte-identical');
  } finally {
    await srv.close();
  }
});
