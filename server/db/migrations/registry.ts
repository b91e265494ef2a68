import type { Kysely, Migration } from 'kysely';

export const registryMigrations: Record<string, Migration> = {
  registry_001_manifests: {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('registry_manifests')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject_digest', 'text')
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('annotations_json', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_manifests_pk', ['repo', 'digest'])
        .execute();
      await db.schema
        .createIndex('registry_manifests_subject')
        .on('registry_manifests')
        .columns(['repo', 'subject_digest'])
        .execute();
      await db.schema
        .createTable('registry_tags')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_tags_pk', ['repo', 'tag'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('registry_tags').execute();
      await db.schema.dropTable('registry_manifests').execute();
    },
  },
};
