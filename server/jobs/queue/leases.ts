/**
 * Leases of running jobs (`job_leases`), shared by both queue engines. A claim moves the job row from `queued`
 * to `running` and starts a new epoch in one transaction; the epoch is the run's fencing token. Times are the
 * nodes' clocks in milliseconds (installs keep them NTP-synced; the lease length dwarfs the skew).
 */
import { sql } from 'kysely';
import type { Db } from '../../db/connect.ts';
import type { JobSpec } from '../queue.ts';
import type { Lease, LeasedJob, LostRun } from './port.ts';

/** First retry delay; doubled for every further attempt (capped). */
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 5 * 60_000;

export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

export class LeaseStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    /** Runs of one job before it is dead-lettered: 1 + the retries. */
    private readonly maxAttempts: number,
  ) {}

  /** Claims a queued job for `worker`: null when another node took it, or it was cancelled, first. */
  async take(jobId: string, worker: string, engineId?: string): Promise<LeasedJob | null> {
    const now = Date.now();
    const startedAt = new Date(now).toISOString();
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('jobs')
        .set({ state: 'running', started_at: startedAt, worker }) // a cancel asked of a dead run stays asked
        .where('id', '=', jobId)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const prev = await tx
        .selectFrom('job_leases')
        .select(['epoch', 'attempts'])
        .where('job_id', '=', jobId)
        .executeTakeFirst();
      const lease = {
        epoch: (prev?.epoch ?? 0) + 1,
        worker,
        state: 'active',
        lease_until: now + this.ttlMs,
        heartbeat_at: startedAt,
        attempts: (prev?.attempts ?? 0) + 1,
        engine_id: engineId ?? null,
        not_before: 0,
      };
      if (prev) await tx.updateTable('job_leases').set(lease).where('job_id', '=', jobId).execute();
      else
        await tx
          .insertInto('job_leases')
          .values({ job_id: jobId, ...lease })
          .execute();
      const row = await tx
        .selectFrom('jobs')
        .select(['owner', 'spec_json', 'created_at'])
        .where('id', '=', jobId)
        .executeTakeFirstOrThrow();
      return {
        id: jobId,
        owner: row.owner,
        spec: JSON.parse(row.spec_json) as JobSpec,
        createdAt: row.created_at,
        lease: { jobId, epoch: lease.epoch, worker, ...(engineId ? { engineId } : {}) },
      };
    });
  }

  /** Extends a live lease; a lease already past its end cannot be revived (the run lost the job). */
  async heartbeat(l: Lease): Promise<boolean> {
    const now = Date.now();
    const r = await this.db
      .updateTable('job_leases')
      .set({ lease_until: now + this.ttlMs, heartbeat_at: new Date(now).toISOString() })
      .where('job_id', '=', l.jobId)
      .where('epoch', '=', l.epoch)
      .where('state', '=', 'active')
      .where('lease_until', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The run ended; false when it had lost the lease already (the job is another run's now). */
  async release(l: Lease): Promise<boolean> {
    const r = await this.db
      .updateTable('job_leases')
      .set({ state: 'released' })
      .where('job_id', '=', l.jobId)
      .where('epoch', '=', l.epoch)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * The live leases of `worker`, ended at once: its process restarted, so those runs are dead (recovery.ts has
   * already re-queued or failed their jobs). Returns them for the engine to let go of.
   */
  async abandon(worker: string): Promise<{ jobId: string; epoch: number; engineId: string | null }[]> {
    const rows = await this.db
      .selectFrom('job_leases')
      .select(['job_id', 'epoch', 'engine_id'])
      .where('worker', '=', worker)
      .where('state', '=', 'active')
      .execute();
    for (const r of rows)
      await this.db
        .updateTable('job_leases')
        .set({ state: 'expired' })
        .where('job_id', '=', r.job_id)
        .where('epoch', '=', r.epoch)
        .where('state', '=', 'active')
        .execute();
    return rows.map((r) => ({ jobId: r.job_id, epoch: r.epoch, engineId: r.engine_id }));
  }

  /** A job the engine dead-lettered while its row waits `queued`: failed for good; its runs, or undefined. */
  async failDead(jobId: string): Promise<number | undefined> {
    const lease = await this.db
      .selectFrom('job_leases')
      .select('attempts')
      .where('job_id', '=', jobId)
      .executeTakeFirst();
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'failed', reason: deadReason(lease?.attempts ?? 0), finished_at: new Date().toISOString() })
      .where('id', '=', jobId)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? (lease?.attempts ?? 0) : undefined;
  }

  /** Active leases past their end (a sweeper then expires each with `expire`). */
  async overdue(): Promise<{ jobId: string; epoch: number; engineId: string | null }[]> {
    const rows = await this.db
      .selectFrom('job_leases')
      .select(['job_id', 'epoch', 'engine_id'])
      .where('state', '=', 'active')
      .where('lease_until', '<', Date.now())
      .execute();
    return rows.map((r) => ({ jobId: r.job_id, epoch: r.epoch, engineId: r.engine_id }));
  }

  /**
   * Ends a run that stopped heartbeating: its job goes back to `queued` (not before the backoff) or, past the
   * attempts, to `failed` (dead-lettered). `dead` overrides the count when the engine decided. Null when
   * another node expired it first or the lease was renewed meanwhile.
   */
  async expire(jobId: string, epoch: number, dead?: boolean): Promise<LostRun | null> {
    const now = Date.now();
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('job_leases')
        .set({ state: 'expired' })
        .where('job_id', '=', jobId)
        .where('epoch', '=', epoch)
        .where('state', '=', 'active')
        .where('lease_until', '<', now)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const lease = await tx
        .selectFrom('job_leases')
        .select(['worker', 'attempts'])
        .where('job_id', '=', jobId)
        .executeTakeFirstOrThrow();
      const outcome = (dead ?? lease.attempts >= this.maxAttempts) ? 'dead' : 'retry';
      const live = ['running', 'attesting', 'publishing'];
      if (outcome === 'retry') {
        await tx
          .updateTable('job_leases')
          .set({ not_before: now + backoffMs(lease.attempts) })
          .where('job_id', '=', jobId)
          .execute();
        await tx
          .updateTable('jobs')
          .set({ state: 'queued', reason: null, started_at: null, runner_json: null })
          .where('id', '=', jobId)
          .where('state', 'in', live)
          .execute();
      } else {
        await tx
          .updateTable('jobs')
          .set({ state: 'failed', reason: deadReason(lease.attempts), finished_at: new Date(now).toISOString() })
          .where('id', '=', jobId)
          .where('state', 'in', ['queued', ...live])
          .execute();
      }
      return { jobId, worker: lease.worker, epoch, outcome, attempts: lease.attempts };
    });
  }

  /** Which of `ids` wait for a retry's backoff (the embedded engine skips them). */
  async backingOff(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.db
      .selectFrom('job_leases')
      .select('job_id')
      .where('job_id', 'in', ids)
      .where('not_before', '>', Date.now())
      .execute();
    return new Set(rows.map((r) => r.job_id));
  }

  /** Leases held now, and the waiting jobs: their number and the oldest's age. */
  async depth(): Promise<{ depth: number; oldestAgeSeconds: number; leased: number }> {
    const q = await this.db
      .selectFrom('jobs')
      .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.min('created_at').as('oldest')])
      .where('state', '=', 'queued')
      .executeTakeFirst();
    const l = await this.db
      .selectFrom('job_leases')
      .select(sql<number | string>`count(*)`.as('n'))
      .where('state', '=', 'active')
      .executeTakeFirst();
    const oldest = q?.oldest ? Date.parse(String(q.oldest)) : Number.NaN;
    return {
      depth: Number(q?.n ?? 0),
      oldestAgeSeconds: Number.isNaN(oldest) ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
      leased: Number(l?.n ?? 0),
    };
  }
}

export function deadReason(attempts: number): string {
  return `dead-lettered: its worker stopped heartbeating on each of ${attempts} runs (AIBOMGEN_JOB_RETRIES)`;
}
