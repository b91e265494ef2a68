import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MediaType } from '../../schema/media-types.ts';
import { startFront, storeModes } from './front-modes.ts';

const sha256 = (b: string | Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function specError(res: Response): Promise<string> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code ?? `(no spec error, status ${res.status})`;
}

for (const mode of storeModes) {
  test(`bad input through the front answers the spec's error code and stores nothing (${mode})`, async () => {
    const front = await startFront(mode);
    const { srv } = front;
    const store = srv.services.store;
    const repo = 'bad/input';
    const base = `${srv.url}/v2/${repo}`;
    try {
      // Wrong digest, monolithic: DIGEST_INVALID; neither digest is stored, no upload left open.
      let res = await fetch(`${base}/blobs/uploads/?digest=${sha256('claimed')}`, {
        method: 'POST',
        body: 'actual',
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'DIGEST_INVALID');
      assert.equal(await store.statBlob(repo, sha256('claimed')), null);
      assert.equal(await store.statBlob(repo, sha256('actual')), null);
      assert.deepEqual(await front.openUploads(repo), []);

      // Out-of-order chunk: 416 RANGE_INVALID, nothing appended; the upload goes on in order.
      res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(res.headers.get('location')!, srv.url).toString();
      res = await fetch(loc, {
        method: 'PATCH',
        body: 'abc',
        headers: { 'content-range': '0-2', 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 202);
      res = await fetch(loc, {
        method: 'PATCH',
        body: 'XYZ',
        headers: { 'content-range': '5-7', 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 416);
      assert.equal(await specError(res), 'RANGE_INVALID');
      res = await fetch(loc, { method: 'GET' });
      assert.equal(res.headers.get('range'), '0-2', 'the out-of-order chunk appended nothing');
      // Truncated chunked upload: the rest never comes, PUT names the full content → DIGEST_INVALID.
      res = await fetch(`${loc}?digest=${sha256('abcdef')}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'DIGEST_INVALID');
      assert.equal(await store.statBlob(repo, sha256('abcdef')), null);
      assert.equal(await store.statBlob(repo, sha256('abc')), null);
      assert.deepEqual(await front.openUploads(repo), []);

      // A manifest naming a blob the repository lacks: MANIFEST_BLOB_UNKNOWN, no tag, no referrers entry.
      res = await fetch(`${base}/blobs/uploads/?digest=${sha256('{}')}`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 201);
      const cfg = { mediaType: MediaType.ociEmpty, digest: sha256('{}'), size: 2 };
      const subject = { mediaType: MediaType.ociManifest, digest: sha256('some subject'), size: 12 };
      const missing = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: cfg,
        layers: [{ mediaType: MediaType.ociLayerTar, digest: sha256('absent'), size: 6 }],
        subject,
      });
      res = await fetch(`${base}/manifests/t1`, {
        method: 'PUT',
        body: missing,
        headers: { 'content-type': MediaType.ociManifest },
      });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'MANIFEST_BLOB_UNKNOWN');

      // Oversized manifest (5 MiB): refused, nothing stored.
      const big = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: cfg,
        layers: [],
        annotations: { pad: 'x'.repeat(5 << 20) },
      });
      res = await fetch(`${base}/manifests/t2`, {
        method: 'PUT',
        body: big,
        headers: { 'content-type': MediaType.ociManifest },
      });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'SIZE_INVALID');

      // Malformed JSON: MANIFEST_INVALID.
      res = await fetch(`${base}/manifests/t3`, {
        method: 'PUT',
        body: '{"schemaVersion": 2, ',
        headers: { 'content-type': MediaType.ociManifest },
      });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'MANIFEST_INVALID');

      // Invalid repository name: NAME_INVALID, before anything is read or stored.
      res = await fetch(`${srv.url}/v2/Bad..Name/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'NAME_INVALID');
      res = await fetch(`${srv.url}/v2/-x/manifests/latest`);
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'NAME_INVALID');
      res = await fetch(`${base}/blobs/uploads/?mount=${sha256('{}')}&from=../../etc`, { method: 'POST' });
      assert.equal(res.status, 400);
      assert.equal(await specError(res), 'NAME_INVALID');

      if (mode === 'upstream') {
        // A manifest the front accepts but distribution 2.8 refuses (a foreign layer with a non-http URL):
        // the PUT fails and the front's referrers index does not list it.
        const foreign = {
          mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
          digest: sha256('elsewhere'),
          size: 9,
          urls: ['ftp://example.com/layer'],
        };
        const refused = JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: cfg,
          layers: [foreign],
          subject,
        });
        res = await fetch(`${base}/manifests/t4`, {
          method: 'PUT',
          body: refused,
          headers: { 'content-type': MediaType.ociManifest },
        });
        await res.arrayBuffer();
        assert.ok(res.status >= 400, `refused upstream: ${res.status}`);
      }

      // Listing the store afterwards: only the config blob; no tags, no manifests, no referrers entry.
      assert.deepEqual(await store.listTags(repo).then((t) => t ?? []), []);
      assert.deepEqual(await store.listRepositories().then((r) => r.filter((x) => x !== repo)), []);
      for (const t of ['t1', 't2', 't3', 't4']) assert.equal(await store.getManifest(repo, t), null, `tag ${t} stored`);
      const refs = (await (await fetch(`${base}/referrers/${subject.digest}`)).json()) as { manifests: unknown[] };
      assert.deepEqual(refs.manifests, []);
      const rows = await srv.services.db
        .selectFrom('registry_manifests')
        .select('digest')
        .where('repo', '=', repo)
        .execute();
      assert.deepEqual(rows, []);
      assert.deepEqual(await front.openUploads(repo), []);
    } finally {
      await front.close();
    }
  });
}
