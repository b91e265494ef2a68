import type { AttestTables } from './attest.ts';
import type { AuditTables } from './audit.ts';
import type { AuthTables } from './auth.ts';
import type { JobTables } from './jobs.ts';
import type { LineageTables } from './lineage.ts';
import type { QueueTables } from './queue.ts';
import type { RegistryTables } from './registry.ts';
import type { SessionTables } from './sessions.ts';

/** The whole database, as kysely sees it: one interface per area, declared in its own file. */
export interface Database
  extends RegistryTables,
    JobTables,
    AttestTables,
    LineageTables,
    SessionTables,
    AuthTables,
    AuditTables,
    QueueTables {}
