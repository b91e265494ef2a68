import { sql, SqliteAdapter, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';

/**
 * On SQLite, tables looked up by their text key during walks are clustered on it (WITHOUT ROWID): one b-tree
 * search per row instead of index + table. Postgres has no such clause and does not need it.
 */
function clustered<T extends string>(db: Kysely<unknown>, b: CreateTableBuilder<T>): CreateTableBuilder<T> {
  return db.getExecutor().adapter instanceof SqliteAdapter ? b.modifyEnd(sql`without rowid`) : b;
}

/** Lineage index tables (schema/db/lineage.ts). Indexes serve the recursive walks both ways. */
export const lineageMigrations: Record<string, Migration> = {
  lineage_001_index: {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('lineage_manifests')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject_digest', 'text')
        .addColumn('annotations_json', 'text')
        .addColumn('signer_key_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('lineage_manifests_pk', ['repo', 'digest'])
        .execute();
      await db.schema
        .createIndex('lineage_manifests_subject')
        .on('lineage_manifests')
        .columns(['repo', 'subject_digest'])
        .execute();

      await db.schema
        .createTable('lineage_layers')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('layer_digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('is_weight', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('lineage_layers_pk', ['repo', 'digest', 'layer_digest'])
        .execute();
      await db.schema.createIndex('lineage_layers_layer').on('lineage_layers').column('layer_digest').execute();

      await db.schema
        .createTable('lineage_tags')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('lineage_tags_pk', ['repo', 'tag'])
        .execute();
      await db.schema.createIndex('lineage_tags_digest').on('lineage_tags').columns(['repo', 'digest']).execute();

      await clustered(
        db,
        db.schema
          .createTable('lineage_versions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('repo', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('artifact_type', 'text')
          .addColumn('created', 'text')
          .addColumn('framework', 'text')
          .addColumn('name', 'text')
          .addColumn('author', 'text')
          .addColumn('license', 'text')
          .addColumn('task', 'text')
          .addColumn('job_id', 'text')
          .addColumn('annotations_json', 'text')
          .addColumn('config_json', 'text')
          .addColumn('metrics_json', 'text')
          .addColumn('aibom_json', 'text')
          .addColumn('verified', 'integer')
          .addColumn('verified_at', 'text'),
      ).execute();
      await db.schema
        .createIndex('lineage_versions_repo')
        .on('lineage_versions')
        .columns(['repo', 'created'])
        .execute();
      await db.schema.createIndex('lineage_versions_digest').on('lineage_versions').column('digest').execute();
      await db.schema.createIndex('lineage_versions_job').on('lineage_versions').column('job_id').execute();

      await db.schema
        .createTable('lineage_claims')
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('target_repo', 'text')
        .addColumn('target_digest', 'text')
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('lineage_claims_owner').on('lineage_claims').column('owner').execute();
      await db.schema
        .createIndex('lineage_claims_target')
        .on('lineage_claims')
        .columns(['target_digest', 'kind'])
        .execute();

      await db.schema
        .createTable('lineage_publications')
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('publication_json', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('lineage_publications_version')
        .on('lineage_publications')
        .columns(['repo', 'digest'])
        .execute();

      await clustered(
        db,
        db.schema
          .createTable('lineage_nodes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('digest', 'text')
          .addColumn('ref', 'text'),
      ).execute();
      await db.schema.createIndex('lineage_nodes_digest').on('lineage_nodes').column('digest').execute();

      await clustered(
        db,
        db.schema
          .createTable('lineage_edges')
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('up_id', 'text', (c) => c.notNull())
          .addColumn('down_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('lineage_edges_pk', ['owner', 'up_id', 'down_id', 'kind']),
      ).execute();
      // Covering indexes: a walk step reads only the index, in either direction.
      await db.schema
        .createIndex('lineage_edges_down')
        .on('lineage_edges')
        .columns(['down_id', 'up_id', 'kind'])
        .execute();
      await db.schema
        .createIndex('lineage_edges_up')
        .on('lineage_edges')
        .columns(['up_id', 'down_id', 'kind'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of [
        'lineage_edges',
        'lineage_nodes',
        'lineage_publications',
        'lineage_claims',
        'lineage_versions',
        'lineage_tags',
        'lineage_layers',
        'lineage_manifests',
      ]) {
        await db.schema.dropTable(t).execute();
      }
    },
  },
  /**
   * Evidence is shown only when it verifies: each referrer's verdict (signature by the platform key and subject)
   * is kept beside it. The index is derived, so it is emptied here and rebuilt from the registry on start with
   * the new checks (createLineageIndex backfills an empty index).
   */
  lineage_002_evidence_trust: {
    async up(db: Kysely<unknown>) {
      for (const [col, type] of [
        ['verified', 'integer'],
        ['evidence_kind', 'text'],
        ['signer_hint', 'text'],
        ['trust_reason', 'text'],
      ] as const)
        await db.schema.alterTable('lineage_manifests').addColumn(col, type).execute();
      for (const t of [
        'lineage_edges',
        'lineage_nodes',
        'lineage_claims',
        'lineage_versions',
        'lineage_tags',
        'lineage_layers',
        'lineage_manifests',
      ])
        await sql`delete from ${sql.table(t)}`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      for (const col of ['verified', 'evidence_kind', 'signer_hint', 'trust_reason'])
        await db.schema.alterTable('lineage_manifests').dropColumn(col).execute();
    },
  },
};
