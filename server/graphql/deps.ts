import type { Logger } from 'pino';
import type { Auth } from '../auth.ts';
import type { Config } from '../config.ts';
import type { JobService, ModelVerifier } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { ModelNames } from '../attest/model-names.ts';
import type { LineageIndex } from '../lineage/area.ts';
import type { QueueStats } from '../jobs/queue/port.ts';
import type { WorkerView } from '../jobs/queue/workers.ts';
import type { RegistryService } from '../registry/service.ts';

/** What the GraphQL area is built from (by the composition root, server/compose.ts). */
export interface GqlDeps {
  config: Config;
  db: Db;
  log: Logger;
  auth: Auth;
  jobs: JobService;
  verifier: ModelVerifier;
  registry: RegistryService;
  lineage: LineageIndex;
  modelNames: ModelNames;
  /** The operators' view of the queue and its workers (server/jobs/queue/). */
  queue: { stats(): Promise<QueueStats>; workers(): Promise<WorkerView[]> };
}
