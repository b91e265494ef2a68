/**
 * A manifest PUT again keeps its first place: the referrers index lists by first arrival, so pushing a referrer
 * once more cannot move it ahead of others; and a tag move replaces its row in one statement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType } from '../../schema/media-types.ts';
import { PLATFORM } from '../../server/identity.ts';
import { digestOf } from '../../server/oci/digest.ts';
import { startTestServer } from '../helpers/server.ts';

test('re-putting a referrer keeps its date and its place; a tag moves between manifests', async () => {
  const srv = await startTestServer();
  try {
    const r = srv.services.registry.as(PLATFORM);
    const empty = await r.pushBlob('order/m', Buffer.from('{}'), MediaType.ociEmpty);
    const manifest = (extra: object) =>
      Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: empty, layers: [], ...extra }),
      );
    const subject = await r.pushManifest('order/m', 'v1', manifest({ annotations: { n: 'subject' } }));
    const ref = (n: string) =>
      manifest({
        artifactType: 'application/x-test',
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        annotations: { n },
      });
    const first = await r.pushManifest('order/m', digestOf(ref('first')), ref('first'));
    await new Promise((res) => setTimeout(res, 20));
    const second = await r.pushManifest('order/m', digestOf(ref('second')), ref('second'));
    const before = await srv.services.db
      .selectFrom('registry_manifests')
      .select(['digest', 'created_at'])
      .where('digest', '=', first.digest)
      .executeTakeFirstOrThrow();
    await new Promise((res) => setTimeout(res, 20));
    await r.pushManifest('order/m', first.digest, ref('first'));
    const after = await srv.services.db
      .selectFrom('registry_manifests')
      .select(['digest', 'created_at'])
      .where('digest', '=', first.digest)
      .executeTakeFirstOrThrow();
    assert.equal(after.created_at, before.created_at, 'the first date is kept');
    assert.deepEqual(
      (await r.referrers('order/m', subject.digest)).map((d) => d.digest),
      [first.digest, second.digest],
    );

    const other = await r.pushManifest('order/m', 'v2', manifest({ annotations: { n: 'other' } }));
    await r.pushManifest('order/m', 'v1', manifest({ annotations: { n: 'other' } }));
    assert.equal((await r.getManifest('order/m', 'v1'))?.digest, other.digest, 'v1 moved');
    const rows = await srv.services.db
      .selectFrom('registry_tags')
      .selectAll()
      .where('repo', '=', 'order/m')
      .where('tag', '=', 'v1')
      .execute();
    assert.equal(rows.length, 1);
  } finally {
    await srv.close();
  }
});
