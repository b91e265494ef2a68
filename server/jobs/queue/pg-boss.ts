/**
 * The Postgres queue engine for multi-node installs: pg-boss. Why pg-boss (over graphile-worker): it has what a
 * job that may outlive its worker needs — retries with exponential backoff (`retryLimit`, `retryDelay`,
 * `retryBackoff`), a dead-letter queue, expiry of active jobs, priorities — on plain Postgres with
 * `FOR UPDATE SKIP LOCKED` claims, and no code generation or extra daemon; graphile-worker has no dead-letter
 * queue and a fixed four-hour lock timeout. Version 10 because 11 and later need Node 22 (this project runs on
 * Node 20); 10 has no heartbeat of its own, so the run's lease (heartbeat, expiry, fencing epoch) is ours, in
 * `job_leases`: when a lease expires, the sweeper fails the pg-boss job, and pg-boss retries it after its
 * backoff or moves it to the dead-letter queue. pg-boss's own expiry (`expireInSeconds`) is only the backstop
 * for a node that dies between the two.
 */
import { CompiledQuery } from 'kysely';
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Db } from '../../db/connect.ts';
import { terminalJobStates, type JobState } from '../../contracts.ts';
import { FairClock } from './fair-clock.ts';
import type { LeaseStore } from './leases.ts';
import type { Lease, LeasedJob, LostRun, QueueEngine, QueueStats } from './port.ts';

export const QUEUE = 'aibomgen-jobs';
export const DEAD_LETTER = 'aibomgen-jobs-dead';
/** pg-boss refuses expiry past 24 h: the backstop stays below it. */
const MAX_EXPIRY_S = 23 * 3600;

interface Payload {
  jobId: string;
  owner: string;
}

export interface PgBossOptions {
  url: string;
  db: Db;
  leases: LeaseStore;
  log: Logger;
  retries: number;
  /** The longest a job may run: pg-boss's expiry backstop is a little past it. */
  jobTimeoutSeconds: number;
}

/** pg-boss's `db` adapter over a kysely connection or transaction (pg-boss sends its SQL with $n parameters). */
function sqlIn(db: Db): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const r = await db.executeQuery(CompiledQuery.raw(text, values));
      return { rows: r.rows as unknown[] };
    },
  };
}

export class PgBossQueue implements QueueEngine {
  readonly kind = 'pg-boss' as const;
  private readonly boss: PgBoss;
  private readonly fair: FairClock;

  constructor(private readonly o: PgBossOptions) {
    // Maintenance (expiry backstop, archiving) runs on one node at a time (pg-boss takes an advisory lock).
    // No cron schedules are used: `schedule: false` spares every node pg-boss's clock and cron pollers.
    this.boss = new PgBoss({
      connectionString: o.url,
      max: 4,
      schema: 'pgboss',
      maintenanceIntervalSeconds: 30,
      schedule: false,
    });
    this.boss.on('error', (err: Error) => o.log.warn({ err }, 'queue: pg-boss error'));
    this.fair = new FairClock(o.db);
  }

  async start(): Promise<void> {
    await this.boss.start();
    const expireInSeconds = Math.min(MAX_EXPIRY_S, this.o.jobTimeoutSeconds + 600);
    // Created by the first node; another node's concurrent create is a no-op for pg-boss.
    await this.boss.createQueue(DEAD_LETTER, { name: DEAD_LETTER });
    await this.boss.createQueue(QUEUE, {
      name: QUEUE,
      retryLimit: this.o.retries,
      retryDelay: 1,
      retryBackoff: true,
      expireInSeconds,
      deadLetter: DEAD_LETTER,
    });
  }

  async enqueue(job: { id: string; owner: string }, tx: Db): Promise<void> {
    const priority = await this.fair.nextPriority(job.owner, tx);
    const payload: Payload = { jobId: job.id, owner: job.owner };
    // pg-boss writes its job row through the caller's transaction (its `db` option), with the job's own row.
    await this.boss.send(QUEUE, payload, { priority, db: sqlIn(tx) });
  }

  /** Fairness comes from the priorities given at enqueue (fair-clock.ts), so the chooser is not needed. */
  async claim(worker: string): Promise<LeasedJob | null> {
    for (;;) {
      const [next] = await this.boss.fetch<Payload>(QUEUE, { batchSize: 1, includeMetadata: true });
      if (!next) return null;
      await this.fair.claimed(next.priority);
      const job = await this.o.leases.take(next.data.jobId, worker, next.id);
      if (job) return job;
      // Cancelled (or finished) while it waited: done with it in pg-boss too. A row still live belongs to a run
      // that holds it (an expiry backstop delivered it again): left alone, that run's release completes it.
      const row = await this.o.db
        .selectFrom('jobs')
        .select('state')
        .where('id', '=', next.data.jobId)
        .executeTakeFirst();
      if (!row || terminalJobStates.includes(row.state as JobState)) await this.boss.complete(QUEUE, next.id);
    }
  }

  heartbeat(lease: Lease): Promise<boolean> {
    return this.o.leases.heartbeat(lease);
  }

  async release(lease: Lease): Promise<void> {
    // A run that lost its lease leaves the pg-boss job alone: it is the next run's now.
    if ((await this.o.leases.release(lease)) && lease.engineId) await this.boss.complete(QUEUE, lease.engineId);
  }

  async abandon(worker: string): Promise<LostRun[]> {
    const dead: LostRun[] = [];
    for (const l of await this.o.leases.abandon(worker)) {
      if (!l.engineId) continue;
      await this.boss.fail(QUEUE, l.engineId, { reason: `worker ${worker} restarted`, epoch: l.epoch });
      const after = await this.boss.getJobById(QUEUE, l.engineId);
      const attempts = after?.state === 'failed' ? await this.o.leases.failDead(l.jobId) : undefined;
      if (attempts !== undefined) dead.push({ jobId: l.jobId, worker, epoch: l.epoch, outcome: 'dead', attempts });
    }
    return dead;
  }

  async sweep(): Promise<LostRun[]> {
    const lost: LostRun[] = [];
    for (const l of await this.o.leases.overdue()) {
      const r = await this.o.leases.expire(l.jobId, l.epoch);
      if (!r) continue; // another node expired it
      // pg-boss's retry limit is ours, so it agrees: retry after its backoff, or on to the dead-letter queue.
      if (l.engineId)
        await this.boss.fail(QUEUE, l.engineId, { reason: `worker ${r.worker} stopped heartbeating`, epoch: l.epoch });
      lost.push(r);
    }
    return lost;
  }

  async stats(): Promise<QueueStats> {
    return { engine: this.kind, ...(await this.o.leases.depth()) };
  }

  /** Jobs in the dead-letter queue (operators' view). */
  deadLettered(): Promise<number> {
    return this.boss.getQueueSize(DEAD_LETTER);
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, close: true, wait: true });
  }
}
