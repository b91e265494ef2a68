/**
 * A multi-node install on this host for the queue tests: a throwaway Postgres cluster, a real distribution
 * registry (on a real S3 server when asked), API nodes in this process (role api) and `aibomgen worker` processes, each with its own data
 * directory; they share only the database, the registry and the keys directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEvent } from '../../server/contracts.ts';
import { type Distribution, startDistribution } from './distribution.ts';
import { startS3 } from './s3.ts';
import { startTestServer, type TestServer } from './server.ts';
import { startPostgres, type TestPostgres } from '../lineage/postgres.ts';

export interface Cluster {
  pg: TestPostgres;
  dbUrl: string;
  registry: Distribution;
  keysDir: string;
  apis: TestServer[];
  /** Starts `aibomgen worker --id <id>` with its own data directory; `env` adds to its environment. */
  worker(id: string, env?: Record<string, string>): ChildProcess;
  stop(): Promise<void>;
}

/** Seconds of a lease in these tests: short, so a dead worker's job moves on quickly. */
export const LEASE_SECONDS = 3;

/** `s3`: the registry stores on a real S3 server (SeaweedFS), as a scaled install does (registry-config/s3.yml). */
export async function startCluster(apiNodes: number, o: { s3?: boolean } = {}): Promise<Cluster | undefined> {
  const pg = await startPostgres();
  if (!pg) return undefined;
  const dbUrl = await pg.database('cluster');
  const s3 = o.s3 ? await startS3() : undefined;
  const registry = await startDistribution(s3 ? { s3 } : {});
  const shared = await mkdtemp(join(tmpdir(), 'aibomgen-cluster-'));
  const keysDir = join(shared, 'keys');
  const common = {
    role: 'api',
    runner: 'process',
    registryStore: 'upstream',
    upstreamUrl: registry.url,
    keysDir,
    databaseUrl: dbUrl,
    jobInputs: 'registry',
    leaseSeconds: LEASE_SECONDS,
  } as const;
  const apis: TestServer[] = [];
  for (let i = 0; i < apiNodes; i++) apis.push(await startTestServer(common));
  const workers: { proc: ChildProcess; dir: string }[] = [];
  return {
    pg,
    dbUrl,
    registry,
    keysDir,
    apis,
    worker(id, env = {}) {
      const dir = join(shared, `worker-${id}-${workers.length}`);
      const proc = spawn(process.execPath, ['cli/bin.js', 'worker', '--data-dir', dir, '--id', id], {
        env: {
          ...process.env,
          AIBOMGEN_AUTH: 'off',
          AIBOMGEN_RUNNER: 'process',
          AIBOMGEN_PUBLIC_URL: apis[0]!.url,
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
          AIBOMGEN_REGISTRY_STORE: 'upstream',
          AIBOMGEN_UPSTREAM_URL: registry.url,
          AIBOMGEN_KEYS_DIR: keysDir,
          AIBOMGEN_DATABASE_URL: dbUrl,
          AIBOMGEN_LEASE_SECONDS: String(LEASE_SECONDS),
          AIBOMGEN_JOB_CONCURRENCY: '1',
          // The shared platform key (worker-keys.test.ts runs workers with their own keys).
          AIBOMGEN_WORKER_KEYS: 'platform',
          ...env,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      workers.push({ proc, dir });
      return proc;
    },
    async stop() {
      for (const w of workers) {
        if (w.proc.exitCode === null && w.proc.signalCode === null) {
          w.proc.kill('SIGCONT');
          w.proc.kill('SIGTERM');
          await new Promise((r) => w.proc.once('exit', r));
        }
      }
      for (const a of apis) await a.close();
      await registry.stop();
      await s3?.stop();
      await pg.stop();
      await rm(shared, { recursive: true, force: true });
    },
  };
}

/** Follows a job's SSE stream on `url` until its terminal state (or `until` says stop); returns what it saw. */
export async function followEvents(
  url: string,
  id: string,
  until: (e: JobEvent) => boolean = () => false,
): Promise<JobEvent[]> {
  const res = await fetch(`${url}/developer/jobs/${id}/events`);
  const reader = res.body!.getReader();
  const seen: JobEvent[] = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return seen;
    buf += Buffer.from(value).toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      if (!line.startsWith('data: ')) continue;
      const e = JSON.parse(line.slice(6)) as JobEvent;
      seen.push(e);
      if (until(e) || (e.type === 'state' && ['succeeded', 'failed', 'cancelled'].includes(e.state))) {
        await reader.cancel();
        return seen;
      }
    }
  }
}

export const states = (events: JobEvent[]): string[] => events.flatMap((e) => (e.type === 'state' ? [e.state] : []));
