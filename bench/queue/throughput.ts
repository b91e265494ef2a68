/**
 * Jobs per minute with trivial jobs on 1, 2, 3… real `aibomgen worker` processes: the install of
 * test/helpers/cluster.ts (a throwaway Postgres, queue engine pg-boss, a real distribution registry, one API node
 * in this process). For each worker count: start that many workers, wait until all of them heartbeat (so
 * start-up is not timed), submit `jobs` trivial jobs (the smallest tabular job: 1 epoch, a few dozen rows, so
 * the queue, the inputs' round trip through the registry and the AIBoM/signing/publishing around a job are
 * most of what is timed), and time from the first submit until every job succeeded.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { submit, tabularForm, waitForState } from '../../test/helpers/jobs.ts';
import { startCluster } from '../../test/helpers/cluster.ts';

export interface Throughput {
  workers: number;
  jobs: number;
  seconds: number;
  perMinute: number;
}

/** Polls GraphQL `workers` until every id in `ids` heartbeats (IDLE); throws after `timeoutMs`. */
async function waitForWorkers(url: string, ids: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ workers { id state } }' }),
    });
    const body = (await res.json()) as { data?: { workers: { id: string; state: string }[] }; errors?: unknown };
    if (body.errors) throw new Error(`GraphQL workers: ${JSON.stringify(body.errors)}`);
    const idle = new Set(body.data!.workers.filter((w) => w.state === 'IDLE').map((w) => w.id));
    if (ids.every((id) => idle.has(id))) return;
    if (Date.now() > deadline) throw new Error(`workers ${ids.join(', ')} not all IDLE after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }),
  );
}

/** Runs the measurement for each count in `workerCounts`; undefined when there is no PostgreSQL here. */
export async function jobsPerMinute(workerCounts: number[], jobs: number): Promise<Throughput[] | undefined> {
  const cluster = await startCluster(1);
  if (!cluster) return undefined;
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-bench-throughput-'));
  const api = cluster.apis[0]!;
  const out: Throughput[] = [];
  try {
    for (const n of workerCounts) {
      const ids = Array.from({ length: n }, (_, i) => `n${n}-w${i + 1}`);
      const procs = ids.map((id) => cluster.worker(id));
      try {
        await waitForWorkers(api.url, ids);
        // The forms are built before the clock starts: only submitting and running is timed.
        const forms = await Promise.all(
          Array.from({ length: jobs }, async (_, i) => {
            const dir = await mkdtemp(join(work, 'job-'));
            return tabularForm(dir, { samples: 40, epochs: 1, name: `tput-${n}-${i}` });
          }),
        );
        const t0 = performance.now();
        const submitted: string[] = [];
        for (const form of forms) {
          const r = await submit(api.url, form);
          if (r.status !== 200 && r.status !== 201 && r.status !== 202) {
            throw new Error(`submit: HTTP ${r.status} ${JSON.stringify(r.body)}`);
          }
          submitted.push(r.body.job_id);
        }
        const done = await Promise.all(submitted.map((id) => waitForState(api.url, id, ['succeeded'], 600_000)));
        const seconds = (performance.now() - t0) / 1000;
        const failed = done.filter((j) => j.status !== 'succeeded');
        if (failed.length) throw new Error(`${failed.length} of ${jobs} jobs did not succeed: ${failed[0]!.status}`);
        out.push({ workers: n, jobs, seconds, perMinute: (jobs / seconds) * 60 });
      } finally {
        await stopWorkers(procs);
      }
    }
  } finally {
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
  return out;
}

/** One line per worker count: jobs/min and the ratio to the first count (1 worker). */
export function throughputLines(rows: Throughput[]): string[] {
  const base = rows[0]!.perMinute;
  return rows.map(
    (r) =>
      `${r.workers} worker${r.workers === 1 ? ' ' : 's'}: ${r.perMinute.toFixed(1)} jobs/min ` +
      `(${r.jobs} trivial jobs in ${r.seconds.toFixed(1)} s), ratio vs 1 worker ${(r.perMinute / base).toFixed(2)}`,
  );
}
