/** Picks the queue engine from the configuration (AIBOMGEN_QUEUE_ENGINE; `auto`: pg-boss on Postgres). */
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import { EmbeddedQueue } from './embedded.ts';
import { LeaseStore } from './leases.ts';
import { PgBossQueue } from './pg-boss.ts';
import type { QueueEngine } from './port.ts';

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export function createQueueEngine(
  config: Pick<Config, 'queueEngine' | 'databaseUrl' | 'leaseSeconds' | 'jobRetries' | 'jobTimeoutSeconds'>,
  db: Db,
  log: Logger,
): QueueEngine {
  const leases = new LeaseStore(db, config.leaseSeconds * 1000, config.jobRetries + 1);
  const pg = isPostgresUrl(config.databaseUrl);
  const kind = config.queueEngine === 'auto' ? (pg ? 'pg-boss' : 'embedded') : config.queueEngine;
  if (kind === 'embedded') return new EmbeddedQueue(db, leases);
  if (!pg) throw new Error('AIBOMGEN_QUEUE_ENGINE=pg-boss needs a postgres:// AIBOMGEN_DATABASE_URL');
  return new PgBossQueue({
    url: config.databaseUrl,
    db,
    leases,
    log,
    retries: config.jobRetries,
    jobTimeoutSeconds: config.jobTimeoutSeconds,
  });
}

export type { QueueEngine } from './port.ts';
