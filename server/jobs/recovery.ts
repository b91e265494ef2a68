/**
 * What a restart finds: jobs of this worker cut off mid-run (their containers or processes are removed, what their
 * publication had pushed is kept when complete or removed (recovery-publication.ts), their half-written output
 * discarded, and they are failed "interrupted" or re-queued), and upload directories of requests that never became
 * jobs (a crash mid-upload), removed once surely not a live upload.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EventBus } from '../events.ts';
import { crashPoint } from '../ops/crash-point.ts';
import type { JobJournal } from './event-log.ts';
import { jobDir } from './paths.ts';
import type { JobQueue } from './queue.ts';
import { type PublicationRecoveryDeps, recoverPublication } from './recovery-publication.ts';
import type { Runner } from './runners/port.ts';
import { canMove } from './state-machine.ts';
import type { JobTransitions } from './transitions.ts';

/** Upload dirs without a job row are a crash's leftovers once this old (a live upload may be in progress). */
const ORPHAN_AGE_MS = 24 * 3600 * 1000;

export interface RecoveryDeps {
  dataDir: string;
  queue: JobQueue;
  journal: JobJournal;
  transitions: JobTransitions;
  runner: Runner;
  events: EventBus;
  log: Logger;
  workerId: string;
  /** Re-queue interrupted jobs instead of failing them. */
  requeueInterrupted: boolean;
  /** What partial publications are checked against and removed with; absent: the registry is left as it is. */
  publications?: PublicationRecoveryDeps;
}

/** Only this worker's jobs: others sharing the database may be running theirs right now. */
export async function recoverInterrupted(d: RecoveryDeps): Promise<void> {
  const left = await d.queue.interrupted(d.workerId);
  if (!left.length) return;
  await d.runner.cleanup(left.map((j) => ({ jobId: j.id, jobDir: jobDir(d.dataDir, j.id) })));
  for (const j of left) {
    // Every interrupted state: the publisher may have pushed before its `attesting` move reached the row.
    const kept = d.publications ? await recoverPublication(d.publications, d.queue, j.id) : undefined;
    crashPoint('recovery:before-finish');
    if (kept) {
      await d.queue.setPublication(j.id, kept);
      // The chain is walked as the executor walks it, should the row lag behind the publisher's steps.
      let state = j.state;
      for (const to of ['attesting', 'publishing'] as const) {
        if (!canMove(state, to)) continue;
        await d.transitions.move(j.id, state, to);
        state = to;
      }
      await d.transitions.finish(j.id, state, 'succeeded');
      d.events.emit('job.published', { jobId: j.id, publication: kept });
      continue;
    }
    // Nothing half-made stays listed: the output dir of a cut-off run is discarded either way.
    await rm(join(jobDir(d.dataDir, j.id), 'output'), { recursive: true, force: true });
    if (d.requeueInterrupted) {
      await d.queue.requeue(j.id);
      await d.journal.emit(j.id, { type: 'state', state: 'queued', reason: 're-queued after an interrupted run' });
    } else {
      await d.transitions.finish(j.id, j.state, 'failed', 'interrupted');
    }
  }
  d.log.warn(
    { jobs: left.map((j) => j.id), requeue: d.requeueInterrupted, registry: Boolean(d.publications) },
    'jobs: recovered jobs cut off by a restart',
  );
}

export async function removeOrphanUploads(d: Pick<RecoveryDeps, 'dataDir' | 'queue'>): Promise<void> {
  const root = join(d.dataDir, 'jobs');
  const known = await d.queue.knownIds();
  for (const name of await readdir(root)) {
    if (known.has(name)) continue;
    const st = await stat(join(root, name)).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > ORPHAN_AGE_MS) await rm(join(root, name), { recursive: true, force: true });
  }
}
