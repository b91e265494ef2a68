/**
 * Issue #16, safe serving: every /v2/ answer carries nosniff and a sandboxing CSP (success, error, HEAD, and
 * blobs streamed past Hono), blobs are octet-stream, and a manifest is stored only under a manifest media
 * type — text/html in the body or the Content-Type is refused and nothing is kept. Both store modes, auth off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { MediaType } from '../../schema/media-types.ts';
import { storeModes } from './front-modes.ts';
import { specError, startHardenedFront } from './hardening-front.ts';

const sha256 = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function assertSafe(res: { headers: Headers } | Response, what: string): void {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox", `${what}: CSP`);
}

/** A GET over node:http, so the blob takes the streamed path (written to the socket by node-io.ts). */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
      });
    })
      .on('error', reject)
      .end();
  });
}

for (const mode of storeModes) {
  test(`every /v2/ response carries nosniff and a sandboxing CSP (${mode})`, async () => {
    const front = await startHardenedFront(mode, { auth: 'off' });
    const { url } = front.srv;
    const base = `${url}/v2/safe/model`;
    try {
      const html = Buffer.from('<html><script>alert(1)</script></html>');
      let res = await fetch(`${url}/v2/`);
      assertSafe(res, 'GET /v2/');
      await res.arrayBuffer();
      res = await fetch(`${base}/blobs/uploads/?digest=${sha256(html)}`, { method: 'POST', body: html });
      assert.equal(res.status, 201);
      assertSafe(res, 'monolithic push');
      res = await fetch(`${base}/blobs/${sha256(html)}`, { method: 'HEAD' });
      assert.equal(res.status, 200);
      assertSafe(res, 'HEAD blob');
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      for (const range of [undefined, 'bytes=0-5']) {
        const r = await rawGet(`${base}/blobs/${sha256(html)}`, range ? { range } : {});
        assert.equal(r.status, range ? 206 : 200);
        assertSafe(r, `streamed blob ${range ?? 'whole'}`);
        assert.equal(r.headers.get('content-type'), 'application/octet-stream', 'never an active type');
        assert.deepEqual(r.body, range ? html.subarray(0, 6) : html);
      }
      // Errors: unknown blob, bad name, bad route, bad digest.
      for (const [path, status] of [
        [`${base}/blobs/${sha256('absent')}`, 404],
        [`${url}/v2/Bad..Name/tags/list`, 400],
        [`${base}/nothing/here`, 415],
        [`${base}/blobs/sha256:zz`, 400],
      ] as const) {
        res = await fetch(path);
        assert.equal(res.status, status, path);
        assertSafe(res, `error ${path}`);
        await res.arrayBuffer();
      }
      const r = await rawGet(`${base}/blobs/${sha256('absent')}`);
      assert.equal(r.status, 404);
      assertSafe(r, 'error over node:http');
      // A chunked upload: POST, PATCH, status, PUT.
      res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      assertSafe(res, 'upload start');
      const loc = new URL(res.headers.get('location')!, url).toString();
      res = await fetch(loc, { method: 'PATCH', body: '{}' });
      assertSafe(res, 'PATCH');
      res = await fetch(loc);
      assertSafe(res, 'upload status');
      res = await fetch(`${loc}?digest=${sha256('{}')}`, { method: 'PUT' });
      assert.equal(res.status, 201);
      assertSafe(res, 'upload PUT');
      // Manifests, tags, catalog, referrers.
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociEmpty, digest: sha256('{}'), size: 2 },
        layers: [{ mediaType: 'text/html', digest: sha256(html), size: html.length }],
      });
      res = await fetch(`${base}/manifests/v1`, {
        method: 'PUT',
        body: manifest,
        headers: { 'content-type': MediaType.ociManifest },
      });
      assert.equal(res.status, 201);
      assertSafe(res, 'manifest PUT');
      for (const method of ['GET', 'HEAD']) {
        res = await fetch(`${base}/manifests/v1`, { method, headers: { accept: MediaType.ociManifest } });
        assert.equal(res.status, 200);
        assertSafe(res, `${method} manifest`);
        await res.arrayBuffer();
      }
      for (const path of [`${base}/tags/list`, `${url}/v2/_catalog`, `${base}/referrers/${sha256(manifest)}`]) {
        res = await fetch(path);
        assert.equal(res.status, 200, path);
        assertSafe(res, path);
        await res.arrayBuffer();
      }
      res = await fetch(`${base}/manifests/v1`, { method: 'DELETE' });
      assert.equal(res.status, 202);
      assertSafe(res, 'DELETE tag');
    } finally {
      await front.close();
    }
  });

  test(`a manifest is stored only under a manifest media type: text/html is refused, nothing kept (${mode})`, async () => {
    const front = await startHardenedFront(mode, { auth: 'off' });
    const { url, services } = front.srv;
    const base = `${url}/v2/safe/html`;
    try {
      let res = await fetch(`${base}/blobs/uploads/?digest=${sha256('{}')}`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 201);
      const body = (mediaType?: string) =>
        JSON.stringify({
          schemaVersion: 2,
          ...(mediaType ? { mediaType } : {}),
          config: { mediaType: MediaType.ociEmpty, digest: sha256('{}'), size: 2 },
          layers: [],
          annotations: { x: '<script>alert(1)</script>' },
        });
      const refused: [string, string | undefined, RegExp][] = [
        ['t1', 'text/html', /text\/html/], // Content-Type only, no mediaType in the body
        ['t2', MediaType.ociManifest, /text\/html/], // body says text/html
        ['t3', 'text/html; charset=utf-8', /text\/html/],
        ['t4', MediaType.ociIndex, /does not match/], // the two disagree
        ['t5', 'application/json', /no mediaType/],
      ];
      const bodies: Record<string, string> = {
        t1: body(),
        t2: body('text/html'),
        t3: body('text/html'),
        t4: body(MediaType.ociManifest),
        t5: body(),
      };
      for (const [tag, contentType, message] of refused) {
        res = await fetch(`${base}/manifests/${tag}`, {
          method: 'PUT',
          body: bodies[tag],
          headers: contentType ? { 'content-type': contentType } : {},
        });
        assert.equal(res.status, 400, tag);
        assertSafe(res, `refused ${tag}`);
        const err = (await res.json()) as { errors: { code: string; message: string }[] };
        assert.equal(err.errors[0]!.code, 'MANIFEST_INVALID', tag);
        assert.match(err.errors[0]!.message, message, tag);
        res = await fetch(`${base}/manifests/${sha256(bodies[tag]!)}`);
        assert.equal(res.status, 404, `${tag} not stored by digest`);
        assert.equal(await specError(res), 'MANIFEST_UNKNOWN');
      }
      // By digest too, and in process (the platform's own path passes the same check).
      res = await fetch(`${base}/manifests/${sha256(bodies.t2!)}`, {
        method: 'PUT',
        body: bodies.t2,
        headers: { 'content-type': 'text/html' },
      });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'MANIFEST_INVALID');
      const { PLATFORM } = await import('../../server/identity.ts');
      await assert.rejects(
        services.registry.putManifest(PLATFORM, 'safe/html', 'p1', Buffer.from(bodies.t1!), 'text/html'),
        (e: Error & { code?: string }) => e.code === 'MANIFEST_INVALID',
      );
      assert.deepEqual(
        await services.db.selectFrom('registry_manifests').select('digest').where('repo', '=', 'safe/html').execute(),
        [],
        'no index row',
      );
      assert.deepEqual((await services.store.listTags('safe/html')) ?? [], [], 'no tag');
      // The accepted types still go in: an image manifest with a matching (parameterised) Content-Type.
      res = await fetch(`${base}/manifests/ok`, {
        method: 'PUT',
        body: bodies.t4,
        headers: { 'content-type': `${MediaType.ociManifest}; charset=utf-8` },
      });
      assert.equal(res.status, 201);
    } finally {
      await front.close();
    }
  });
}

test('with auth on, the refusals on /v2 carry the same headers (the version check challenge, 401, 403)', async () => {
  const front = await startHardenedFront('embedded', { tokens: 'alice:token-of-alice' });
  const { url } = front.srv;
  const alice = { authorization: `Basic ${Buffer.from('alice:token-of-alice').toString('base64')}` };
  try {
    for (const [path, init, status] of [
      [`${url}/v2/`, {}, 401], // answered by the auth area's version check, before the registry's routes
      [`${url}/v2/alice/m/blobs/uploads/`, { method: 'POST' }, 401],
      [`${url}/v2/bob/m/blobs/uploads/`, { method: 'POST', headers: alice }, 403],
      [`${url}/v2/alice/m/blobs/uploads/`, { method: 'POST', headers: alice }, 202],
    ] as const) {
      const res = await fetch(path, init);
      assert.equal(res.status, status, path);
      assertSafe(res, `${init.method ?? 'GET'} ${path} → ${status}`);
      await res.arrayBuffer();
    }
  } finally {
    await front.close();
  }
});
