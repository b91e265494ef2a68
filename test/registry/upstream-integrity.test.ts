import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType } from '../../schema/media-types.ts';
import { startFront } from './front-modes.ts';

const sha256 = (b: string | Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('upstream mode: content changed behind the front is not served as if it were intact', async () => {
  const front = await startFront('upstream');
  const { srv, up } = front;
  const base = `${srv.url}/v2/integrity/x`;
  try {
    const content = 'x'.repeat(200_000);
    let res = await fetch(`${base}/blobs/uploads/?digest=${sha256(content)}`, {
      method: 'POST',
      body: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 201);
    res = await fetch(`${base}/blobs/uploads/?digest=${sha256('{}')}`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 201);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociEmpty, digest: sha256('{}'), size: 2 },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: sha256(content), size: content.length }],
    });
    res = await fetch(`${base}/manifests/v1`, {
      method: 'PUT',
      body: manifest,
      headers: { 'content-type': MediaType.ociManifest },
    });
    assert.equal(res.status, 201);
    assert.equal(await (await fetch(`${base}/blobs/${sha256(content)}`)).text(), content, 'intact content is served');

    // Flip the stored bytes (same length) in distribution's own storage.
    const dataFile = (d: string) =>
      join(up!.rootDir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', d.slice(7, 9), d.slice(7), 'data');
    await writeFile(dataFile(sha256(content)), 'y'.repeat(content.length));
    res = await fetch(`${base}/blobs/${sha256(content)}`);
    assert.equal(res.status, 200, 'headers go out before the last byte is hashed');
    await assert.rejects(res.text(), 'the transfer is cut off instead of completing with the wrong bytes');
    // A ranged read cannot be checked against the digest and is served as stored.
    res = await fetch(`${base}/blobs/${sha256(content)}`, { headers: { range: 'bytes=0-3' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), 'yyyy');

    // A tampered manifest is refused rather than served under its digest.
    await writeFile(dataFile(sha256(manifest)), manifest.replace('"schemaVersion":2', '"schemaVersion":3'));
    res = await fetch(`${base}/manifests/${sha256(manifest)}`, { headers: { accept: MediaType.ociManifest } });
    assert.ok(res.status >= 500, `tampered manifest: ${res.status}`);
    await res.arrayBuffer();
  } finally {
    await front.close();
  }
});
