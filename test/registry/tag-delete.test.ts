import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MediaType } from '../../schema/media-types.ts';
import { startFront, storeModes } from './front-modes.ts';

const sha256 = (b: string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// distribution 2.8 refuses DELETE by tag, and its DELETE by digest drops every tag: upstream mode emulates.
for (const mode of storeModes) {
  test(`DELETE of one tag keeps the manifest, its other tags and its referrers (${mode})`, async () => {
    const front = await startFront(mode);
    const base = `${front.srv.url}/v2/tags/del`;
    try {
      let res = await fetch(`${base}/blobs/uploads/?digest=${sha256('{}')}`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 201);
      const cfg = { mediaType: MediaType.ociEmpty, digest: sha256('{}'), size: 2 };
      const subject = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: cfg, layers: [] });
      const referrer = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: 'application/vnd.test.sig',
        config: cfg,
        layers: [],
        subject: { mediaType: MediaType.ociManifest, digest: sha256(subject), size: subject.length },
      });
      for (const tag of ['a', 'b', 'c']) {
        res = await fetch(`${base}/manifests/${tag}`, {
          method: 'PUT',
          body: subject,
          headers: { 'content-type': MediaType.ociManifest },
        });
        assert.equal(res.status, 201);
      }
      res = await fetch(`${base}/manifests/${sha256(referrer)}`, {
        method: 'PUT',
        body: referrer,
        headers: { 'content-type': MediaType.ociManifest },
      });
      assert.equal(res.status, 201);

      res = await fetch(`${base}/manifests/b`, { method: 'DELETE' });
      assert.equal(res.status, 202);
      assert.deepEqual(((await (await fetch(`${base}/tags/list`)).json()) as { tags: string[] }).tags, ['a', 'c']);
      for (const ref of ['a', 'c', sha256(subject)]) {
        res = await fetch(`${base}/manifests/${ref}`, { headers: { accept: MediaType.ociManifest } });
        assert.equal(res.status, 200, `${ref} still resolves`);
        assert.equal(await res.text(), subject);
      }
      res = await fetch(`${base}/manifests/b`, { headers: { accept: MediaType.ociManifest } });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
      res = await fetch(`${base}/manifests/b`, { method: 'DELETE' });
      assert.equal(res.status, 404, 'a deleted tag is unknown');
      await res.arrayBuffer();
      const refs = (await (await fetch(`${base}/referrers/${sha256(subject)}`)).json()) as {
        manifests: { digest: string }[];
      };
      assert.deepEqual(
        refs.manifests.map((m) => m.digest),
        [sha256(referrer)],
      );
    } finally {
      await front.close();
    }
  });
}
