import type { Migration } from 'kysely';

export const registryMigrations: Record<string, Migration> = {};
