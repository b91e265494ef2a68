import type { Kysely, Migration } from 'kysely';

/** The queue port's tables (schema/db/queue.ts); plain types so the DDL runs on SQLite and Postgres. */
export const queueMigrations: Record<string, Migration> = {
  queue_001_leases: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('job_leases')
        .addColumn('job_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('epoch', 'integer', (c) => c.notNull())
        .addColumn('worker', 'varchar(255)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('lease_until', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('engine_id', 'varchar(64)')
        .addColumn('not_before', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      // The sweeper looks for active leases past their end.
      await db.schema
        .createIndex('job_leases_state_until')
        .on('job_leases')
        .columns(['state', 'lease_until'])
        .execute();
      await db.schema
        .createTable('workers')
        .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('host', 'varchar(255)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('heartbeat_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('running_json', 'text', (c) => c.notNull())
        .addColumn('gpus', 'integer', (c) => c.notNull())
        .addColumn('concurrency', 'integer', (c) => c.notNull())
        .addColumn('key_id', 'varchar(255)')
        .addColumn('engine', 'varchar(16)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('job_pushes')
        .addColumn('job_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('epoch', 'integer', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('repo', 'varchar(255)', (c) => c.notNull())
        .addColumn('digest', 'varchar(80)', (c) => c.notNull())
        .addColumn('tag', 'varchar(128)')
        .addPrimaryKeyConstraint('job_pushes_pk', ['job_id', 'epoch', 'seq'])
        .execute();
      await db.schema
        .createTable('queue_fair_clock')
        .addColumn('owner', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('tag', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('queue_fair_clock').execute();
      await db.schema.dropTable('job_pushes').execute();
      await db.schema.dropTable('workers').execute();
      await db.schema.dropTable('job_leases').execute();
    },
  },
};
