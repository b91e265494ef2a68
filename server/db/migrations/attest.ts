import type { Kysely, Migration } from 'kysely';

export const attestMigrations: Record<string, Migration> = {
  attest_001_model_names: {
    async up(db: Kysely<unknown>) {
      // A model name (its repository in the trusted namespace) belongs to the first owner who published it.
      await db.schema
        .createTable('attest_model_names')
        .addColumn('repo', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  attest_002_worker_keys: {
    async up(db: Kysely<unknown>) {
      // Workers' own signing keys (public halves) and the signed layouts that list the approved ones.
      await db.schema
        .createTable('attest_worker_keys')
        .addColumn('key_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('worker_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('public_pem', 'text', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('enrolled_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('decided_at', 'varchar(32)')
        .addColumn('decided_by', 'varchar(255)')
        .execute();
      await db.schema
        .createTable('attest_layouts')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('cause', 'text', (c) => c.notNull())
        .addColumn('root_json', 'text', (c) => c.notNull())
        .addColumn('platform_json', 'text', (c) => c.notNull())
        .addColumn('image_json', 'text', (c) => c.notNull())
        .addColumn('root_pem', 'text', (c) => c.notNull())
        .addColumn('platform_pem', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('attest_layouts').execute();
      await db.schema.dropTable('attest_worker_keys').execute();
    },
  },
};
