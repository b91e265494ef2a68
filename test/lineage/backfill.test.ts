import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Annotation } from '../../schema/media-types.ts';
import { compose } from '../../server/compose.ts';
import { startTestServer } from '../helpers/server.ts';
import { pushModel } from './oci.ts';

test('a server whose lineage index is empty rebuilds it from the registry on start', async () => {
  const srv = await startTestServer();
  try {
    const a = await pushModel(srv.url, 'models/bf-a', '1.0', 'weights-a', {});
    const b = await pushModel(srv.url, 'models/bf-b', '1.0', 'weights-b', {
      [Annotation.baseModel]: `models/bf-a@${a}`,
    });
    await srv.services.lineage.idle();
    const db = srv.services.db;
    for (const t of [
      'lineage_edges',
      'lineage_nodes',
      'lineage_claims',
      'lineage_versions',
      'lineage_tags',
      'lineage_layers',
      'lineage_manifests',
    ] as const)
      await db.deleteFrom(t).execute();

    // A second start on the same data directory and database.
    const again = await compose(srv.services.config, pino({ level: 'silent' }));
    try {
      await again.lineage.idle();
      const edges = await again.db.selectFrom('lineage_edges').select(['up_id', 'down_id', 'kind']).execute();
      assert.deepEqual(edges, [
        { up_id: `model:models/bf-a@${a}`, down_id: `model:models/bf-b@${b}`, kind: 'FINE_TUNED_FROM' },
      ]);
      const tags = await again.db.selectFrom('lineage_tags').select(['repo', 'tag']).orderBy('repo').execute();
      assert.deepEqual(tags, [
        { repo: 'models/bf-a', tag: '1.0' },
        { repo: 'models/bf-b', tag: '1.0' },
      ]);
    } finally {
      await again.close();
    }
  } finally {
    await srv.close();
  }
});
