/**
 * Queue claim latency: how long a worker's claim takes (the engine picks a job, moves its row to `running`
 * and starts a lease), p50/p95/max, on Postgres with pg-boss (three workers claiming at once, each with its own
 * connection pool, as three hosts would) and, as the baseline, the embedded engine on SQLite (one worker).
 * Jobs are spread over 10 owners; each claimed job is released at once (no training), so only the queue is
 * timed. Then jobs per minute with trivial jobs on 1, 2 and 3 real `aibomgen worker` processes on Postgres
 * (throughput.ts), with the ratio to 1 worker. Needs Debian's postgresql-15 binaries and docker-registry
 * (scripts/setup.sh).
 *
 * Run: node --import tsx bench/queue/run.ts            (BENCH_JOBS=2000, BENCH_THROUGHPUT_JOBS=12)
 *      node --import tsx bench/queue/run.ts --smoke    # 60 claims, 3 jobs on 1 and 2 workers: no meaningful figures
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Db, openDatabase } from '../../server/db/connect.ts';
import { JobQueue } from '../../server/jobs/queue.ts';
import { createQueueEngine } from '../../server/jobs/queue/index.ts';
import type { QueueEngine } from '../../server/jobs/queue/port.ts';
import { startPostgres } from '../../test/lineage/postgres.ts';
import { jobsPerMinute, throughputLines } from './throughput.ts';

const SMOKE = process.argv.includes('--smoke');
const JOBS = SMOKE ? 60 : Number(process.env.BENCH_JOBS ?? 2000);
const OWNERS = 10;
const THROUGHPUT_JOBS = SMOKE ? 3 : Number(process.env.BENCH_THROUGHPUT_JOBS ?? 12);
const WORKER_COUNTS = SMOKE ? [1, 2] : [1, 2, 3];
const log = pino({ level: 'silent' });

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function engineOn(url: string, kind: 'pg-boss' | 'embedded'): Promise<{ db: Db; engine: QueueEngine }> {
  const db = await openDatabase(url);
  const config = { queueEngine: kind, databaseUrl: url, leaseSeconds: 60, jobRetries: 3, jobTimeoutSeconds: 3600 };
  const engine = createQueueEngine(config, db, log);
  await engine.start();
  return { db, engine };
}

/** Queues JOBS jobs, then `workers` claim-and-release until none is left; returns every claim's latency (ms). */
async function measure(nodes: { db: Db; engine: QueueEngine }[]): Promise<number[]> {
  const [first] = nodes;
  const queue = new JobQueue(first!.db);
  for (let i = 0; i < JOBS; i++) {
    const id = randomUUID();
    const owner = `owner-${i % OWNERS}`;
    const input = { owner, framework: 'tfjs', files: [], params: {}, metadata: {} };
    await queue.insert(id, input, new Date().toISOString(), (tx) => first!.engine.enqueue({ id, owner }, tx));
  }
  const latencies: number[] = [];
  await Promise.all(
    nodes.map(async (n, w) => {
      for (;;) {
        const t0 = performance.now();
        const job = await n.engine.claim(`bench-${w}`, (heads) => heads[0]!);
        if (!job) return;
        latencies.push(performance.now() - t0);
        await n.engine.release(job.lease);
      }
    }),
  );
  if (latencies.length !== JOBS) throw new Error(`claimed ${latencies.length} of ${JOBS} jobs`);
  return latencies.sort((a, b) => a - b);
}

const line = (name: string, l: number[], shape: string): string =>
  `${name}: claim p50 ${pct(l, 50).toFixed(2)} ms, p95 ${pct(l, 95).toFixed(2)} ms, ` +
  `max ${l.at(-1)!.toFixed(2)} ms (${JOBS} jobs, ${shape})`;

const pg = await startPostgres();
if (!pg) {
  console.error('bench/queue: no PostgreSQL here (scripts/setup.sh installs postgresql-15)');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'aibomgen-bench-queue-'));
try {
  console.log(`queue bench${SMOKE ? ' (smoke: too small to time)' : ''}: ${JOBS} jobs over ${OWNERS} owners`);
  const url = await pg.database('bench');
  const pgNodes = [await engineOn(url, 'pg-boss'), await engineOn(url, 'pg-boss'), await engineOn(url, 'pg-boss')];
  const onPg = await measure(pgNodes);
  const sqlite = [await engineOn(join(dir, 'bench.db'), 'embedded')];
  const onSqlite = await measure(sqlite);
  console.log(line('pg-boss  ', onPg, 'Postgres 15, 3 workers at once'));
  console.log(line('embedded ', onSqlite, 'SQLite, 1 worker'));
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  for (const n of [...pgNodes, ...sqlite]) {
    await n.engine.close();
    await n.db.destroy();
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}

// A second throwaway Postgres (test/helpers/cluster.ts's), after the first one stopped.
const tput = await jobsPerMinute(WORKER_COUNTS, THROUGHPUT_JOBS);
if (!tput) throw new Error('bench/queue: PostgreSQL went away');
console.log(`jobs per minute (pg-boss, trivial tabular jobs: 40 rows, 1 epoch; one API node, real worker processes):`);
for (const l of throughputLines(tput)) console.log(l);
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} on ${cpus().length} CPUs`,
);
