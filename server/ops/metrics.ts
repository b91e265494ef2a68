import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelVerifier } from '../contracts.ts';
import { terminalJobStates, type JobState } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import { routeClass, type RequestRecord } from './http-observer.ts';

const allStates: readonly JobState[] = [
  'queued',
  'running',
  'attesting',
  'publishing',
  'succeeded',
  'failed',
  'cancelled',
];

/** The platform's Prometheus metrics on a registry of their own (never prom-client's global one). */
export interface PlatformMetrics {
  registry: Registry;
  /** Counts one finished HTTP request (the request-log middleware calls it). */
  observeRequest(r: RequestRecord): void;
  /** The same verifier, counting every verification and failure (every caller: REST, GraphQL, lineage). */
  countVerifications(v: ModelVerifier): ModelVerifier;
  /** Removes the event listeners. */
  stop(): void;
}

/**
 * Jobs by state and queue depth are read from the `jobs` table at scrape time (so they are right after a
 * restart and across workers); durations, registry bytes, verifications and HTTP requests are counted as
 * they happen in this process.
 */
export function createMetrics(s: { db: Db; events: EventBus }): PlatformMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'aibomgen_jobs',
    help: 'Training jobs in the database by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await s.db
        .selectFrom('jobs')
        .select(['state', s.db.fn.countAll<number>().as('n')])
        .groupBy('state')
        .execute();
      this.reset();
      for (const st of allStates) this.set({ state: st }, 0);
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  new Gauge({
    name: 'aibomgen_job_queue_depth',
    help: 'Jobs waiting for a runner (state queued).',
    registers: [registry],
    async collect() {
      const r = await s.db
        .selectFrom('jobs')
        .select(s.db.fn.countAll<number>().as('n'))
        .where('state', '=', 'queued')
        .executeTakeFirst();
      this.set(Number(r?.n ?? 0));
    },
  });
  // Jobs that ended since this process started, read from the `jobs` table at scrape: the same for jobs run
  // here and by a separate `aibomgen worker` (whose events reach only its own bus).
  let sweptUpTo = new Date().toISOString();
  /** Jobs finished exactly at `sweptUpTo`, already observed: the next sweep (finished_at >= sweptUpTo) sees them again. */
  let atBoundary = new Set<string>();
  new Histogram({
    name: 'aibomgen_job_duration_seconds',
    help: 'Time from a job starting to run (or being queued, if it never ran) to its terminal state.',
    labelNames: ['state'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
    async collect() {
      const rows = await s.db
        .selectFrom('jobs')
        .select(['id', 'state', 'created_at', 'started_at', 'finished_at'])
        .where('state', 'in', [...terminalJobStates])
        .where('finished_at', '>=', sweptUpTo)
        .orderBy('finished_at')
        .execute();
      for (const r of rows) {
        if (atBoundary.has(r.id)) continue;
        const from = Date.parse(r.started_at ?? r.created_at);
        const to = Date.parse(r.finished_at ?? '');
        if (Number.isFinite(from) && Number.isFinite(to) && to >= from)
          this.observe({ state: r.state }, (to - from) / 1000);
      }
      const last = rows.at(-1)?.finished_at;
      if (last) {
        atBoundary = new Set(rows.filter((r) => r.finished_at === last).map((r) => r.id));
        sweptUpTo = last;
      }
    },
  });
  const bytes = new Counter({
    name: 'aibomgen_registry_bytes_total',
    help: 'Blob bytes through the /v2/ registry front (in = pushed, out = pulled).',
    labelNames: ['direction'],
    registers: [registry],
  });
  bytes.inc({ direction: 'in' }, 0);
  bytes.inc({ direction: 'out' }, 0);
  const verifications = new Counter({
    name: 'aibomgen_verifications_total',
    help: 'Model verifications run by the platform verifier, by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  const verificationFailures = new Counter({
    name: 'aibomgen_verification_failures_total',
    help: 'Model verifications that did not verify (a failed check, or the verifier threw).',
    registers: [registry],
  });
  verifications.inc({ result: 'verified' }, 0);
  verifications.inc({ result: 'failed' }, 0);
  const requests = new Counter({
    name: 'aibomgen_http_requests_total',
    help: 'HTTP requests by method, route class and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'aibomgen_http_request_duration_seconds',
    help: 'Time to the response headers, by method and route class.',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const onBytes = (b: { direction: 'in' | 'out'; bytes: number }): void =>
    bytes.inc({ direction: b.direction }, b.bytes);
  s.events.on('blob.bytes', onBytes);

  return {
    registry,
    observeRequest(r) {
      const route = routeClass(r.path);
      requests.inc({ method: r.method, route, status: String(r.status) });
      requestSeconds.observe({ method: r.method, route }, r.ms / 1000);
    },
    countVerifications: (v) => ({
      async verify(ref, caller) {
        try {
          const report = await v.verify(ref, caller);
          verifications.inc({ result: report.verified ? 'verified' : 'failed' });
          if (!report.verified) verificationFailures.inc();
          return report;
        } catch (e) {
          verifications.inc({ result: 'failed' });
          verificationFailures.inc();
          throw e;
        }
      },
    }),
    stop() {
      s.events.off('blob.bytes', onBytes);
    },
  };
}
