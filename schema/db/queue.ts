/**
 * Tables of the queue port (server/jobs/queue/): leases of running jobs, the workers' heartbeats, and the
 * manifests each run pushed (so a re-run can remove what a dead run left). Owned by server/jobs/queue.
 */
import type { Generated } from 'kysely';

export interface QueueTables {
  job_leases: JobLeasesTable;
  workers: WorkersTable;
  job_pushes: JobPushesTable;
  queue_fair_clock: QueueFairClockTable;
}

/**
 * One row per job that was ever claimed: the current run's lease. Its bigint columns come back from pg as strings:
 * read them with Number().
 */
export interface JobLeasesTable {
  job_id: string;
  /** The run's number: every claim adds one. A write of a run whose epoch is not the current one is refused. */
  epoch: number;
  worker: string;
  /** 'active' while a worker holds it; 'released' when the run ended; 'expired' when it stopped heartbeating. */
  state: string;
  /** Milliseconds since the epoch (the workers' clocks, NTP-synced): past it, the run lost the job. */
  lease_until: number;
  heartbeat_at: string;
  /** Runs started so far (the first is 1); past the retry limit the job is dead-lettered. */
  attempts: number;
  /** The queue engine's own id for the job (pg-boss), null for the embedded engine. */
  engine_id: string | null;
  /** Milliseconds since the epoch before which a re-queued job is not claimed again (retry backoff). */
  not_before: Generated<number>;
}

export interface WorkersTable {
  id: string;
  host: string;
  /** 'running' while heartbeating, 'stopped' after a clean shutdown (a stale heartbeat reads as lost). */
  state: string;
  heartbeat_at: string;
  started_at: string;
  /** JSON array of the job ids this worker runs now. */
  running_json: string;
  gpus: number;
  concurrency: number;
  /** The id of this worker's signing key, when it has one of its own. */
  key_id: string | null;
  engine: string;
}

/** Every manifest a run pushed, written before the push (a dead run's pushes are known to its successor). */
export interface JobPushesTable {
  job_id: string;
  epoch: number;
  seq: number;
  repo: string;
  /** The manifest's digest, and the tag when it was pushed under one. */
  digest: string;
  tag: string | null;
}

/**
 * Start-time fair queueing for the pg-boss engine: each owner's last virtual tag; the row of owner '' holds the
 * virtual time (the tag of the job claimed last). A job's priority is minus its tag.
 */
export interface QueueFairClockTable {
  owner: string;
  tag: number;
}
