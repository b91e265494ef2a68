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
};
