import type { Kysely, Migration } from 'kysely';

export const auditMigrations: Record<string, Migration> = {
  audit_001_log: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('audit_log')
        // A UUIDv7 (time-ordered): no autoincrement column, whose syntax differs between SQLite and Postgres.
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('actor', 'varchar(255)', (c) => c.notNull())
        .addColumn('action', 'varchar(512)', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('result', 'varchar(16)', (c) => c.notNull())
        .addColumn('request_id', 'varchar(255)')
        .addColumn('detail', 'text')
        .execute();
      // Administrators page newest first, optionally by one actor.
      await db.schema.createIndex('audit_log_actor_id').on('audit_log').columns(['actor', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('audit_log').execute();
    },
  },
};
