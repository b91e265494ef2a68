/**
 * GPU capacity for the submit-time check: a job asking for GPUs is refused before it is queued when no worker
 * could serve it. Capacity is the most GPUs any one worker has (a job runs on one worker): this node's own
 * count and every live worker registered in the `workers` table (workers share the database and heartbeat
 * there). `AIBOMGEN_WORKER_GPUS` overrides this node's count (nvidia-smi otherwise): for machines whose GPUs
 * nvidia-smi cannot see, and for tests.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GpuRequest } from '../../schema/jobs.ts';
import { gpusWanted } from '../../schema/jobs.ts';
import type { Db } from '../db/connect.ts';
import { JobError } from './errors.ts';

/** A worker whose heartbeat is older than this is not counted (it may be gone). */
const LIVE_WORKER_MS = 2 * 60_000;

let probed: Promise<number> | undefined;

/** This node's GPUs: AIBOMGEN_WORKER_GPUS when set, else the lines of `nvidia-smi -L` (probed once). */
export function localGpuCount(): Promise<number> {
  const env = process.env.AIBOMGEN_WORKER_GPUS;
  if (env !== undefined && /^\d+$/.test(env.trim())) return Promise.resolve(Number(env));
  probed ??= promisify(execFile)('nvidia-smi', ['-L'], { timeout: 5000 }).then(
    ({ stdout }) => stdout.split('\n').filter((l) => l.startsWith('GPU ')).length,
    () => 0,
  );
  return probed;
}

/** The most GPUs of one live registered worker (0 when none, or when the table is not there yet). */
export async function registeredWorkerGpus(db: Db, now = Date.now()): Promise<number> {
  try {
    const rows = await db
      .selectFrom('workers')
      .select(['gpus', 'heartbeat_at'])
      .where('state', '=', 'running')
      .where('gpus', '>', 0)
      .execute();
    const live = rows.filter((r) => now - Date.parse(r.heartbeat_at) < LIVE_WORKER_MS);
    return Math.max(0, ...live.map((r) => Number(r.gpus)));
  } catch {
    return 0;
  }
}

/** Throws a 422 JobError naming the field when no worker has the GPUs `gpu` asks for. */
export async function assertGpuCapacity(db: Db, gpu: GpuRequest | undefined): Promise<void> {
  const want = gpusWanted(gpu);
  if (want === 0) return;
  const have = Math.max(await localGpuCount(), await registeredWorkerGpus(db));
  if (have >= want) return;
  throw new JobError(
    'unsupported_runner',
    have === 0
      ? 'this job asks for a GPU, but no worker of this platform has one (no live worker reports a GPU): submit it without gpu'
      : `this job asks for ${want} GPUs, but the largest worker of this platform has ${have}`,
    [{ field: 'gpu', message: have === 0 ? 'no worker has a GPU' : `at most ${have} GPUs per worker` }],
  );
}
