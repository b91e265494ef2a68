import type { Kysely, Migration } from 'kysely';

/** Jobs tables; plain types only so the same DDL runs on SQLite and Postgres. */
export const jobMigrations: Record<string, Migration> = {
  jobs_001_tables: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('spec_json', 'text', (c) => c.notNull())
        .addColumn('publication_json', 'text')
        .addColumn('runner_json', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('started_at', 'varchar(32)')
        .addColumn('finished_at', 'varchar(32)')
        .execute();
      // FIFO per owner and recovery of non-terminal jobs scan by state/owner in creation order.
      await db.schema.createIndex('jobs_state_created').on('jobs').columns(['state', 'created_at']).execute();
      await db.schema.createIndex('jobs_owner_created').on('jobs').columns(['owner', 'created_at']).execute();
      await db.schema
        .createTable('job_inputs')
        .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('role', 'varchar(32)', (c) => c.notNull())
        .addColumn('digest', 'varchar(80)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_inputs_pk', ['job_id', 'name'])
        .execute();
      await db.schema
        .createTable('job_events')
        .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('body_json', 'text', (c) => c.notNull())
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        // seq is unique per job (no autoincrement column: its syntax differs between SQLite and Postgres).
        .addPrimaryKeyConstraint('job_events_pk', ['job_id', 'seq'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('job_events').execute();
      await db.schema.dropTable('job_inputs').execute();
      await db.schema.dropTable('jobs').execute();
    },
  },
  /** Scale-out: which worker claimed a job (recovery touches only its own), and cancel across processes. */
  jobs_002_worker: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('jobs').addColumn('worker', 'varchar(255)').execute();
      await db.schema
        .alterTable('jobs')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('jobs').dropColumn('cancel_requested').execute();
      await db.schema.alterTable('jobs').dropColumn('worker').execute();
    },
  },
  /** Metrics read once when the trainer exits (not from the job's output on every status request). */
  jobs_003_metrics: {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('jobs').addColumn('metrics_json', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('jobs').dropColumn('metrics_json').execute();
    },
  },
};
