import type { Migration } from 'kysely';
import { attestMigrations } from './attest.ts';
import { auditMigrations } from './audit.ts';
import { authMigrations } from './auth.ts';
import { jobMigrations } from './jobs.ts';
import { lineageMigrations } from './lineage.ts';
import { queueMigrations } from './queue.ts';
import { registryMigrations } from './registry.ts';
import { sessionMigrations } from './sessions.ts';

/**
 * Every migration, keyed `<area>_<nnn>_<what>`. Areas are independent (no foreign keys across them),
 * so the migrator runs them unordered across areas; within an area the number orders them.
 * Each migration must run on SQLite and on Postgres.
 */
export const migrations: Record<string, Migration> = {
  ...registryMigrations,
  ...jobMigrations,
  ...attestMigrations,
  ...lineageMigrations,
  ...sessionMigrations,
  ...authMigrations,
  ...auditMigrations,
  ...queueMigrations,
};
