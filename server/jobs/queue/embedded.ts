/**
 * The embedded queue engine: the `jobs` table is the queue (SQLite on one host, as before, or any database
 * kysely speaks). The scheduler's chooser picks among the oldest queued job of every owner; the claim is a
 * conditional update, so processes sharing the file never both start a job. Leases, retries with backoff and
 * the dead-letter state are the shared lease store's (leases.ts).
 */
import type { Db } from '../../db/connect.ts';
import { JobQueue } from '../queue.ts';
import type { LeaseStore } from './leases.ts';
import type { Chooser, Lease, LeasedJob, LostRun, QueueEngine, QueueStats } from './port.ts';

export class EmbeddedQueue implements QueueEngine {
  readonly kind = 'embedded' as const;
  private readonly jobs: JobQueue;

  constructor(
    db: Db,
    private readonly leases: LeaseStore,
  ) {
    this.jobs = new JobQueue(db);
  }

  async start(): Promise<void> {}

  /** The row inserted `queued` is the queue entry already. */
  async enqueue(): Promise<void> {}

  async claim(worker: string, choose: Chooser): Promise<LeasedJob | null> {
    const all = await this.jobs.queueHeads();
    const waiting = await this.leases.backingOff(all.map((h) => h.id));
    let heads = all.filter((h) => !waiting.has(h.id));
    while (heads.length) {
      const pick = choose(heads);
      const job = await this.leases.take(pick.id, worker);
      if (job) return job;
      heads = heads.filter((h) => h.id !== pick.id); // another process took it (or it was cancelled)
    }
    return null;
  }

  heartbeat(lease: Lease): Promise<boolean> {
    return this.leases.heartbeat(lease);
  }

  async release(lease: Lease): Promise<void> {
    await this.leases.release(lease);
  }

  async abandon(worker: string): Promise<LostRun[]> {
    await this.leases.abandon(worker);
    return [];
  }

  async sweep(): Promise<LostRun[]> {
    const lost: LostRun[] = [];
    for (const l of await this.leases.overdue()) {
      const r = await this.leases.expire(l.jobId, l.epoch);
      if (r) lost.push(r);
    }
    return lost;
  }

  async stats(): Promise<QueueStats> {
    return { engine: this.kind, ...(await this.leases.depth()) };
  }

  async close(): Promise<void> {}
}
