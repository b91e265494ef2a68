import type { JobTables } from './jobs.ts';
import type { LineageTables } from './lineage.ts';
import type { RegistryTables } from './registry.ts';

/** The whole database, as kysely sees it: one interface per area, declared in its own file. */
export interface Database extends RegistryTables, JobTables, LineageTables {}
