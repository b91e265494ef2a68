import type { Migration } from 'kysely';

export const attestMigrations: Record<string, Migration> = {};
