import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import type { Database } from '../../schema/db/index.ts';
import { migrations } from './migrations/index.ts';

export type Db = Kysely<Database>;

/**
 * Opens the database named by `url`: `postgres://…` uses the Postgres dialect (scale-out installs),
 * anything else is a SQLite file path (the embedded default) or `:memory:`.
 */
export async function openDatabase(url: string): Promise<Db> {
  let db: Db;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = await import('pg');
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.default.Pool({ connectionString: url, max: 10 }) }),
    });
  } else {
    if (url !== ':memory:') mkdirSync(dirname(url), { recursive: true });
    const sqlite = new SQLite(url);
    // WAL lets readers (GraphQL, verifier) run beside the writer; NORMAL is durable across process crashes.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  await migrate(db);
  return db;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}
