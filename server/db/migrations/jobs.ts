import type { Migration } from 'kysely';

export const jobMigrations: Record<string, Migration> = {};
