/**
 * The queue port: how a node that runs jobs gets one, holds it and lets go of it. Two adapters, found by name:
 * `embedded` (claims from the jobs table itself: SQLite, one host, as before) and `pg-boss` (the Postgres job
 * queue, for several hosts). Both keep the run's lease in `job_leases` (leases.ts): a claim starts a new epoch,
 * the worker heartbeats it, and a run whose lease expired (its worker died or paused) is re-queued with backoff
 * or, past the retry limit, dead-lettered. The lease's epoch is the fencing token every write of a run carries
 * (fence.ts), so only the current run can record state or publish.
 */
import type { JobSpec } from '../queue.ts';
import type { Lease } from './lease.ts';
import type { Db } from '../../db/connect.ts';

export type { Lease } from './lease.ts';

/** A claimed job as the executor needs it, with the lease of this run. */
export interface LeasedJob {
  id: string;
  owner: string;
  spec: JobSpec;
  createdAt: string;
  lease: Lease;
}

/** The oldest queued job of one owner (what the embedded engine's fair chooser picks from). */
export interface QueueHead {
  id: string;
  owner: string;
  createdAt: string;
}

/** Picks the next job from the heads of every owner's queue (scheduler.ts: fewest running here, round-robin). */
export type Chooser = (heads: QueueHead[]) => QueueHead;

/** What became of a run whose lease expired. */
export interface LostRun {
  jobId: string;
  worker: string;
  epoch: number;
  /** `retry`: queued again (after a backoff); `dead`: past the retry limit, failed for good. */
  outcome: 'retry' | 'dead';
  attempts: number;
}

/** The queue's depth for /metrics and the operators' view. */
export interface QueueStats {
  engine: QueueEngineKind;
  /** Jobs waiting to run. */
  depth: number;
  /** Age of the oldest waiting job, seconds (0 when none). */
  oldestAgeSeconds: number;
  /** Runs holding a live lease. */
  leased: number;
}

export type QueueEngineKind = 'embedded' | 'pg-boss';

export interface QueueEngine {
  readonly kind: QueueEngineKind;
  /** Sets up the engine's own storage (pg-boss: its schema and queues). */
  start(): Promise<void>;
  /**
   * Makes a job available to the workers, in the transaction `tx` that inserts its `queued` row: both are
   * committed or neither (a node killed between two separate writes would leave a queued job no worker is given).
   */
  enqueue(job: { id: string; owner: string }, tx: Db): Promise<void>;
  /** Claims the next job for `worker` (null: none); `choose` is how the embedded engine stays fair. */
  claim(worker: string, choose: Chooser): Promise<LeasedJob | null>;
  /** Extends the lease; false when the run lost it (expired or taken over): stop the run. */
  heartbeat(lease: Lease): Promise<boolean>;
  /** The run ended (its terminal state is recorded): lets go of the job for good. */
  release(lease: Lease): Promise<void>;
  /**
   * `worker` restarted: its runs still holding leases are dead. Ends them now (recovery.ts has re-queued or
   * failed their jobs); returns those the engine dead-lettered meanwhile (failed for good).
   */
  abandon(worker: string): Promise<LostRun[]>;
  /** Expired leases: re-queues (backoff) or dead-letters their jobs; one node wins each. */
  sweep(): Promise<LostRun[]>;
  stats(): Promise<QueueStats>;
  close(): Promise<void>;
}
