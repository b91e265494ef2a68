import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer } from '../helpers/server.ts';

const sha256 = (s: string | Buffer) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

test('manifests by tag and digest, referrers with artifactType filter, tags pagination, unknown blob and oversize refused', async () => {
  const srv = await startTestServer();
  try {
    const base = `${srv.url}/v2/team/model`;
    const push = async (data: string) => {
      const r = await fetch(`${base}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data });
      assert.equal(r.status, 201);
      return { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
    };
    const cfg = { ...(await push('{}')), mediaType: 'application/vnd.oci.empty.v1+json' };
    const layer = await push('weights');
    const subjectBody = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI,
      artifactType: 'application/x.model',
      config: cfg,
      layers: [layer],
    });
    let res = await fetch(`${base}/manifests/v1`, {
      method: 'PUT',
      body: subjectBody,
      headers: { 'content-type': OCI },
    });
    assert.equal(res.status, 201);
    const subject = { mediaType: OCI, digest: sha256(subjectBody), size: subjectBody.length };
    assert.equal(res.headers.get('docker-content-digest'), subject.digest);
    res = await fetch(`${base}/manifests/v1`);
    assert.equal(res.headers.get('content-type'), OCI);
    assert.equal(await res.text(), subjectBody);
    // two referrers of different artifact types
    const ref = (t: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI,
        artifactType: t,
        config: cfg,
        layers: [layer],
        subject,
        annotations: { k: t },
      });
    for (const t of ['application/x.sig', 'application/x.sbom']) {
      res = await fetch(`${base}/manifests/${sha256(ref(t))}`, {
        method: 'PUT',
        body: ref(t),
        headers: { 'content-type': OCI },
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), subject.digest);
    }
    res = await fetch(`${base}/referrers/${subject.digest}`);
    assert.equal(((await res.json()) as { manifests: unknown[] }).manifests.length, 2);
    res = await fetch(`${base}/referrers/${subject.digest}?artifactType=application/x.sig`);
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const idx = (await res.json()) as {
      manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[];
    };
    assert.deepEqual(
      idx.manifests.map((m) => [m.digest, m.artifactType, m.annotations.k]),
      [[sha256(ref('application/x.sig')), 'application/x.sig', 'application/x.sig']],
    );
    // delete a referrer by digest: gone from the index
    res = await fetch(`${base}/manifests/${sha256(ref('application/x.sig'))}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    res = await fetch(`${base}/referrers/${subject.digest}`);
    assert.equal(((await res.json()) as { manifests: unknown[] }).manifests.length, 1);
    // tags with pagination
    for (const t of ['v2', 'v3'])
      assert.equal(
        (await fetch(`${base}/manifests/${t}`, { method: 'PUT', body: subjectBody, headers: { 'content-type': OCI } }))
          .status,
        201,
      );
    res = await fetch(`${base}/tags/list?n=2`);
    assert.deepEqual(await res.json(), { name: 'team/model', tags: ['v1', 'v2'] });
    assert.match(res.headers.get('link')!, /last=v2/);
    // unknown blob → MANIFEST_BLOB_UNKNOWN, nothing stored
    const bad = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI,
      config: cfg,
      layers: [{ ...layer, digest: sha256('missing') }],
    });
    res = await fetch(`${base}/manifests/bad`, { method: 'PUT', body: bad, headers: { 'content-type': OCI } });
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await fetch(`${base}/manifests/bad`)).status, 404);
    // oversized → SIZE_INVALID; malformed JSON → MANIFEST_INVALID
    res = await fetch(`${base}/manifests/big`, {
      method: 'PUT',
      body: 'x'.repeat(4 * 1024 * 1024 + 1),
      headers: { 'content-type': OCI },
    });
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'SIZE_INVALID');
    res = await fetch(`${base}/manifests/junk`, { method: 'PUT', body: '{nope', headers: { 'content-type': OCI } });
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MANIFEST_INVALID');
    const rows = await srv.services.db
      .selectFrom('registry_manifests')
      .select('digest')
      .where('repo', '=', 'team/model')
      .execute();
    assert.equal(rows.length, 2);
    res = await fetch(`${srv.url}/v2/_catalog`);
    assert.deepEqual(await res.json(), { repositories: ['team/model'] });
  } finally {
    await srv.close();
  }
});
