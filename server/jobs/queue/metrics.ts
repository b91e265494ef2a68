import { Gauge, type Registry } from 'prom-client';
import type { QueueStats } from './port.ts';
import type { WorkerState, WorkerView } from './workers.ts';

const workerStates: readonly WorkerState[] = ['idle', 'busy', 'stopped', 'lost'];

/**
 * The queue's figures in /metrics, read at scrape time (right across nodes and restarts): the age of the
 * oldest waiting job (the depth is `aibomgen_job_queue_depth`), the live leases, and the workers by state.
 */
export function registerQueueMetrics(
  registry: Registry,
  q: { stats(): Promise<QueueStats>; workers(): Promise<WorkerView[]> },
): void {
  new Gauge({
    name: 'aibomgen_job_queue_oldest_age_seconds',
    help: 'Seconds the oldest queued job has waited (0 when none).',
    registers: [registry],
    async collect() {
      this.set((await q.stats()).oldestAgeSeconds);
    },
  });
  new Gauge({
    name: 'aibomgen_job_leases',
    help: 'Job runs holding a live lease (running on some worker).',
    labelNames: ['engine'],
    registers: [registry],
    async collect() {
      const s = await q.stats();
      this.reset();
      this.set({ engine: s.engine }, s.leased);
    },
  });
  new Gauge({
    name: 'aibomgen_workers',
    help: 'Nodes that run jobs, by state (lost: no heartbeat for longer than a lease).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const ws = await q.workers();
      for (const st of workerStates) this.set({ state: st }, ws.filter((w) => w.state === st).length);
    },
  });
}
