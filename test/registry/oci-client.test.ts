import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType } from '../../schema/media-types.ts';
import { digestOf, OciClient, OciError } from '../../server/oci/client.ts';
import { startDistribution } from '../helpers/distribution.ts';
import { startTestServer } from '../helpers/server.ts';
import { startFront, storeModes } from './front-modes.ts';

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

async function roundTrip(client: OciClient, dir: string, label: string): Promise<void> {
  const repo = 'client/test';
  // A file bigger than one chunk goes as PATCHes; a small one as one streamed PUT.
  const big = randomBytes(300 * 1024 + 7);
  const small = randomBytes(1000);
  await writeFile(join(dir, 'big.bin'), big);
  await writeFile(join(dir, 'small.bin'), small);
  const bigDesc = await client.pushBlobFile(repo, join(dir, 'big.bin'), MediaType.modelWeightRaw, {
    'org.opencontainers.image.title': 'big.bin',
  });
  const smallDesc = await client.pushBlobFile(repo, join(dir, 'small.bin'), MediaType.modelWeightRaw);
  assert.equal(bigDesc.digest, digestOf(big), label);
  assert.equal(await client.blobSize(repo, bigDesc.digest), big.length, label);
  assert.equal(await client.blobSize(repo, smallDesc.digest), small.length, label);
  // uploadFile: the digest is the caller's (no hashing pass, no HEAD), chunked here.
  await client.uploadFile('client/upload', join(dir, 'big.bin'), bigDesc.digest, big.length);
  assert.equal(await client.blobSize('client/upload', bigDesc.digest), big.length, label);
  // A second push of the same content stops at HEAD.
  assert.deepEqual(await client.pushBlobFile(repo, join(dir, 'small.bin'), MediaType.modelWeightRaw), smallDesc);
  const cfg = await client.pushBlob(repo, Buffer.from('{}'), MediaType.ociEmpty);

  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: 'application/vnd.test.model',
    config: cfg,
    layers: [bigDesc, smallDesc],
  });
  const m = await client.pushManifest(repo, 'v1', manifest);
  const got = await client.getManifest(repo, 'v1');
  assert.ok(got, label);
  assert.equal(got.digest, m.digest);
  assert.equal(got.mediaType, MediaType.ociManifest);
  assert.deepEqual(Buffer.from(got.bytes), manifest);
  assert.equal(await client.getManifest(repo, 'nope'), undefined);

  await client.pullBlobToFile(repo, bigDesc.digest, join(dir, 'big.out'));
  assert.ok((await readFile(join(dir, 'big.out'))).equals(big), `${label}: pulled file is byte-identical`);
  assert.ok(Buffer.from(await client.fetchBlob(repo, smallDesc.digest)).equals(small));

  // A referrer, found by the referrers API (front) or the fallback tag (plain distribution 2.8).
  const sig = await client.pushBlob(repo, Buffer.from('signature'), 'application/vnd.test.sig');
  const refBytes = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: 'application/vnd.test.sig',
    config: cfg,
    layers: [sig],
    subject: m,
  });
  const r = await client.pushManifest(repo, digestOf(refBytes), refBytes);
  await client.addToFallbackIndex(repo, m.digest, [{ ...r, artifactType: 'application/vnd.test.sig' }]);
  const refs = await client.referrers(repo, m.digest);
  assert.deepEqual(
    refs.map((d) => d.digest),
    [r.digest],
    label,
  );
  assert.deepEqual(await client.referrers(repo, m.digest, 'application/vnd.other'), []);
  assert.deepEqual((await client.tags(repo)).sort(), [`sha256-${m.digest.slice(7)}`, 'v1'].sort(), label);
  assert.deepEqual(await client.tags('client/unknown'), []);

  await assert.rejects(
    client.fetchBlob(repo, digestOf(Buffer.from('absent'))),
    (e: unknown) => e instanceof OciError && e.status === 404 && e.code === 'BLOB_UNKNOWN',
  );
  await client.deleteManifest(repo, r.digest);
  assert.equal(await client.getManifest(repo, r.digest), undefined);
}

for (const mode of storeModes) {
  test(`OciClient against the front in-process (the app's own fetch handler, no socket) and over HTTP: files chunked and whole, manifests, referrers, tags (${mode})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-client-'));
    const first = await startFront(mode);
    try {
      const srv = first.srv;
      const inProcess = new OciClient('http://aibomgen.internal', {
        fetch: async (req) => srv.app.fetch(req),
        chunkSize: 64 * 1024,
      });
      await roundTrip(inProcess, dir, `${mode} in-process`);
    } finally {
      await first.close();
    }
    // The same round trip over a real socket, against a fresh server.
    const second = await startFront(mode);
    try {
      await roundTrip(new OciClient(second.srv.url, { chunkSize: 64 * 1024 }), dir, `${mode} http`);
    } finally {
      await second.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('OciClient against plain distribution 2.8: referrers come from the sha256-<hex> fallback tag', async () => {
  const up = await startDistribution();
  const dir = await mkdtemp(join(tmpdir(), 'oci-client-'));
  try {
    await roundTrip(new OciClient(up.url, { chunkSize: 64 * 1024 }), dir, 'distribution');
  } finally {
    await up.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('OciClient refuses content that does not match its digest', async () => {
  const srv = await startTestServer();
  try {
    const client = new OciClient(srv.url);
    const d = await client.pushBlob('client/bad', Buffer.from('the real bytes'), MediaType.ociLayerTar);
    // A registry (here: a proxy in front of the real one) that serves other bytes under that digest.
    const lying = new OciClient(srv.url, {
      fetch: async (req) => {
        const res = await fetch(req);
        if (!req.url.includes('/blobs/')) return res;
        await res.arrayBuffer();
        return new Response('other bytes!!!', { status: 200, headers: res.headers });
      },
    });
    await assert.rejects(
      lying.fetchBlob('client/bad', d.digest),
      (e: unknown) => e instanceof OciError && e.code === 'DIGEST_MISMATCH',
    );
    assert.equal(
      Buffer.from(await lying.fetchBlob('client/bad', d.digest, { verify: false })).toString(),
      'other bytes!!!',
    );
  } finally {
    await srv.close();
  }
});

test('OciClient sends its headers (a token) to its own origin only, not to an upload Location elsewhere', async () => {
  const seen: string[] = [];
  const client = new OciClient('http://registry.test', {
    headers: { authorization: 'Bearer t' },
    fetch: async (req) => {
      seen.push(`${req.method} ${new URL(req.url).host} ${req.headers.get('authorization') ?? '-'}`);
      if (req.method === 'HEAD') return new Response(null, { status: 404 });
      if (req.method === 'POST')
        return new Response(null, { status: 202, headers: { location: 'http://storage.test/upload/1' } });
      return new Response(null, { status: 201 });
    },
  });
  await client.pushBlob('a/b', Buffer.from('x'), MediaType.ociLayerTar);
  assert.deepEqual(seen, ['HEAD registry.test Bearer t', 'POST registry.test Bearer t', 'PUT storage.test -']);
});
