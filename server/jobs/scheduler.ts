/**
 * The scheduler of a node that runs jobs: starts queued jobs while fewer than `concurrency` run here, the
 * owner with the fewest jobs running here first and FIFO within an owner; claims each with the queue's
 * conditional update; polls the database for work queued by other processes and for cancel requests sent to
 * another node about the jobs running here.
 */
import type { Logger } from 'pino';
import type { ClaimedJob, JobQueue } from './queue.ts';

/** How often a node looks for work queued by other processes and for cancel requests on its jobs. */
const POLL_MS = 1000;

export interface SchedulerDeps {
  queue: JobQueue;
  log: Logger;
  concurrency: number;
  workerId: string;
  /** Records a claimed job's move to `running` (its state event), before it is executed. */
  claimed(job: ClaimedJob): Promise<void>;
  /** Runs a claimed job to its terminal state; never throws for job-level failures. */
  execute(job: ClaimedJob, startedAt: string, signal: AbortSignal): Promise<void>;
}

interface Running {
  owner: string;
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
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
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
        const queued = await this.d.queue.queued();
        if (!queued.length) break;
        const pick = queued.reduce((best, j) => (this.load(j.owner) < this.load(best.owner) ? j : best), queued[0]!);
        const startedAt = new Date().toISOString();
        const job = await this.d.queue.claim(pick.id, this.d.workerId, startedAt);
        if (!job) continue; // another worker sharing the database took it
        await this.d.claimed(job);
        this.launch(job, startedAt);
      }
    } while (this.repump && !this.closed);
  }

  private launch(job: ClaimedJob, startedAt: string): void {
    const abort = new AbortController();
    const entry: Running = { owner: job.owner, abort, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.d
      .execute(job, startedAt, abort.signal)
      .catch((err: unknown) => this.d.log.error({ err, job: job.id }, 'jobs: execution crashed'))
      .finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
  }

  private load(owner: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.owner === owner) n++;
    return n;
  }

  private async checkCancelRequests(): Promise<void> {
    if (!this.running.size) return;
    const ids = await this.d.queue.cancelRequested([...this.running.keys()]).catch(() => []);
    for (const id of ids) this.running.get(id)?.abort.abort();
  }
}
