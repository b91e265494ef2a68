/**
 * The scheduler of a node that runs jobs: starts queued jobs while fewer than `concurrency` run here; claims
 * each with the queue's conditional update; polls the database for work queued by other processes and for
 * cancel requests sent to another node about the jobs running here.
 *
 * Fair across owners, FIFO within an owner: it looks at the oldest queued job of every owner (not at the head
 * of the whole queue) and starts the one whose owner has the fewest jobs running here, then the owner this node
 * started a job for least recently (round-robin), then the oldest. So an owner with 300 queued jobs delays
 * another owner's job by at most the one slot that frees next.
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
        const heads = await this.d.queue.queueHeads();
        if (!heads.length) break;
        const pick = heads.reduce((best, j) => (this.before(j.owner, best.owner) ? j : best), heads[0]!);
        const startedAt = new Date().toISOString();
        const job = await this.d.queue.claim(pick.id, this.d.workerId, startedAt);
        if (!job) continue; // another worker sharing the database took it
        await this.d.claimed(job);
        this.launch(job, startedAt);
      }
    } while (this.repump && !this.closed);
  }

  private launch(job: ClaimedJob, startedAt: string): void {
    this.lastStart.set(job.owner, ++this.starts);
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

  /** Whether `a`'s next job goes before `b`'s: fewer running here, else started least recently (ties: the older job). */
  private before(a: string, b: string): boolean {
    const la = this.load(a);
    const lb = this.load(b);
    if (la !== lb) return la < lb;
    return (this.lastStart.get(a) ?? 0) < (this.lastStart.get(b) ?? 0);
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
