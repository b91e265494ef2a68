/**
 * The scheduler of a node that runs jobs: starts queued jobs while fewer than `concurrency` run here, each
 * claimed through the queue port (queue/port.ts) with a lease; heartbeats the leases of the jobs running here
 * (a run whose lease was lost is stopped at once: another worker owns the job now); sweeps leases of dead
 * workers (their jobs are re-queued with backoff, or dead-lettered); polls for work and for cancel requests
 * sent to another node about the jobs running here. Each run executes inside `runFenced`, so every write it
 * makes checks it still holds the lease (queue/fence.ts).
 *
 * Fair across owners, FIFO within an owner. The embedded engine asks this scheduler's chooser: among the oldest
 * queued job of every owner, the one whose owner has the fewest jobs running here, then the owner this node
 * started a job for least recently (round-robin), then the oldest. The pg-boss engine orders by the fair
 * priorities it gave at enqueue (queue/fair-clock.ts), the same policy across all nodes.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/connect.ts';
import type { JobQueue } from './queue.ts';
import { runFenced } from './queue/fence.ts';
import type { LeasedJob, LostRun, QueueEngine, QueueHead } from './queue/port.ts';
import type { WorkerRegistry } from './queue/workers.ts';

/** How often a node looks for work queued by other processes and for cancel requests on its jobs. */
const POLL_MS = 1000;

export interface SchedulerDeps {
  engine: QueueEngine;
  /** The job rows: cancel requests sent to this node's jobs from another node. */
  queue: JobQueue;
  /** The database the fenced writes of a run check the lease in. */
  db: Db;
  log: Logger;
  concurrency: number;
  workerId: string;
  /** How long a lease lasts; heartbeats go out three times per lease. */
  leaseMs: number;
  /** This worker's row for the operators' view (undefined: not recorded). */
  registry?: WorkerRegistry;
  /** What the operators' view shows of this worker besides its jobs. */
  info?: { host: string; gpus: number; keyId: string | null };
  /**
   * Whether this node may take jobs now: a worker whose own key is pending approval, revoked, or not yet in a
   * signed layout claims nothing (its evidence would not verify). Absent: always.
   */
  mayClaim?: () => Promise<boolean>;
  /** Records a claimed job's move to `running` (its state event), before it is executed. */
  claimed(job: LeasedJob): Promise<void>;
  /** Runs a claimed job to its terminal state; never throws for job-level failures. */
  execute(job: LeasedJob, startedAt: string, signal: AbortSignal): Promise<void>;
  /** A run of a dead worker was swept (re-queued or dead-lettered): record its state event. */
  lost(run: LostRun): Promise<void>;
}

interface Running {
  job: LeasedJob;
  abort: AbortController;
  done: Promise<void>;
}

export class Scheduler {
  private readonly running = new Map<string, Running>();
  private started = false;
  private closed = false;
  private pumping = false;
  private repump = false;
  private poller?: NodeJS.Timeout;
  private beater?: NodeJS.Timeout;
  private readonly startedAt = new Date().toISOString();
  /** Owner → when this node last started one of its jobs (a counter): round-robin among equally loaded owners. */
  private readonly lastStart = new Map<string, number>();
  private starts = 0;

  constructor(private readonly d: SchedulerDeps) {}

  /** Starts scheduling: a first round now, then one every POLL_MS (with a look for cancel requests). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.pump();
    // ref'd on purpose: it is what keeps a worker process (no HTTP server) alive
    this.poller = setInterval(() => {
      this.pump();
      void this.checkCancelRequests();
    }, POLL_MS);
    this.beater = setInterval(() => void this.beat(), Math.max(200, Math.floor(this.d.leaseMs / 3)));
    void this.beat();
  }

  /** True while this node runs the job. */
  runsHere(id: string): boolean {
    return this.running.has(id);
  }

  /** Stops a job running here and waits until it ended; false when it does not run here. */
  async stop(id: string): Promise<boolean> {
    const live = this.running.get(id);
    if (!live) return false;
    live.abort.abort();
    await live.done;
    return true;
  }

  /** Stops scheduling and aborts every job running here, waiting until each has ended. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poller);
    clearInterval(this.beater);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (this.started) await this.d.registry?.stopped(this.d.workerId).catch(() => undefined);
  }

  /** One scheduling round (or another one right after the round in progress). */
  pump(): void {
    if (!this.started || this.closed) return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    void this.round()
      .catch((err: unknown) => this.d.log.error({ err }, 'jobs: scheduling failed'))
      .finally(() => (this.pumping = false));
  }

  private async round(): Promise<void> {
    do {
      this.repump = false;
      while (this.running.size < this.d.concurrency && !this.closed) {
        if (this.d.mayClaim && !(await this.d.mayClaim())) break;
        const job = await this.d.engine.claim(this.d.workerId, (heads) => this.choose(heads));
        if (!job) break;
        await this.d.claimed(job);
        this.launch(job, new Date().toISOString());
      }
    } while (this.repump && !this.closed);
  }

  private choose(heads: QueueHead[]): QueueHead {
    return heads.reduce((best, j) => (this.before(j.owner, best.owner) ? j : best), heads[0]!);
  }

  private launch(job: LeasedJob, startedAt: string): void {
    this.lastStart.set(job.owner, ++this.starts);
    const abort = new AbortController();
    const entry: Running = { job, abort, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = runFenced(this.d.db, job.lease, () => this.d.execute(job, startedAt, abort.signal))
      .catch((err: unknown) => this.d.log.error({ err, job: job.id }, 'jobs: execution crashed'))
      .then(() => this.d.engine.release(job.lease))
      .catch((err: unknown) => this.d.log.error({ err, job: job.id }, 'jobs: lease release failed'))
      .finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
  }

  /**
   * Heartbeats: this node's leases (one lost: that run is stopped, its writes are refused anyway), this node's
   * row for the operators' view, and a sweep of leases whose workers stopped heartbeating.
   */
  private async beat(): Promise<void> {
    if (this.closed) return;
    for (const r of [...this.running.values()]) {
      const held = await this.d.engine.heartbeat(r.job.lease).catch(() => true); // a db hiccup is not a loss
      if (!held && !r.abort.signal.aborted) {
        this.d.log.warn({ job: r.job.id, epoch: r.job.lease.epoch }, 'jobs: lease lost, stopping this run');
        r.abort.abort();
      }
    }
    await this.d.registry
      ?.beat({
        id: this.d.workerId,
        host: this.d.info?.host ?? this.d.workerId,
        startedAt: this.startedAt,
        running: [...this.running.keys()],
        gpus: this.d.info?.gpus ?? 0,
        concurrency: this.d.concurrency,
        keyId: this.d.info?.keyId ?? null,
        engine: this.d.engine.kind,
      })
      .catch((err: unknown) => this.d.log.warn({ err }, 'jobs: worker heartbeat failed'));
    try {
      const lost = await this.d.engine.sweep();
      for (const run of lost) {
        this.d.log.warn(run, 'jobs: a worker stopped heartbeating; its run was swept');
        await this.d.lost(run);
      }
      if (lost.length) this.pump();
    } catch (err) {
      this.d.log.warn({ err }, 'jobs: lease sweep failed');
    }
  }

  /** Whether `a`'s next job goes first: fewer running here, else started least recently (ties: the older job). */
  private before(a: string, b: string): boolean {
    const la = this.load(a);
    const lb = this.load(b);
    if (la !== lb) return la < lb;
    return (this.lastStart.get(a) ?? 0) < (this.lastStart.get(b) ?? 0);
  }

  private load(owner: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.job.owner === owner) n++;
    return n;
  }

  private async checkCancelRequests(): Promise<void> {
    if (!this.running.size) return;
    const ids = await this.d.queue.cancelRequested([...this.running.keys()]).catch(() => []);
    for (const id of ids) this.running.get(id)?.abort.abort();
  }
}
