import type { Kysely, Migration } from 'kysely';

/** Managed API tokens; plain types only so the same DDL runs on SQLite and Postgres. */
export const authMigrations: Record<string, Migration> = {
  auth_001_tokens: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('auth_tokens')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('scopes_json', 'text')
        .addColumn('created_by', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)')
        .addColumn('revoked_at', 'varchar(32)')
        .addColumn('last_used_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('auth_tokens_owner').on('auth_tokens').columns(['owner', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('auth_tokens').execute();
    },
  },
};
