/**
 * The durable job queue: the `jobs` and `job_inputs` tables. A job is inserted `queued` with its inputs in one
 * transaction; a worker claims it with a conditional update (`… where state = 'queued'`), so two workers sharing
 * one database never both start it; state changes, the runner, metrics and the publication are written here.
 * The rows are also what every view of a job (REST, GraphQL, CLI) is read from.
 */
import { type Selectable, sql, type Updateable } from 'kysely';
import type { JobsTable } from '../../schema/db/jobs.ts';
import type { JobInputFile, JobState, JobView, Publication, RunnerInfo, SubmitJobInput } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import { type GpuRequest, gpusWanted, trainerFramework } from '../../schema/jobs.ts';
import { assertGpuCapacity } from './gpus.ts';
import { isJobId } from './paths.ts';
import { currentLease, LeaseLostError, leaseHeld } from './queue/fence.ts';
import { interruptedStates } from './state-machine.ts';

/** What a job asks for, kept as `spec_json`. */
export interface JobSpec {
  framework: string;
  params: Record<string, unknown>;
  metadata: JobView['metadata'];
  image?: string;
  command?: string[];
  /** The GPU request (absent: none). `framework` picks the trainer of a model job (schema/jobs.ts trainerFramework). */
  gpu?: GpuRequest;
}

/** A claimed job as the executor needs it. */
export interface ClaimedJob {
  id: string;
  owner: string;
  spec: JobSpec;
  createdAt: string;
}

type InputRow = { name: string; role: string; digest: string; size: number | string | bigint };

export class JobQueue {
  constructor(private readonly db: Db) {}

  /** Inserts the job `queued`, with its inputs, in one transaction. */
  /** Inserts a job `queued`; `enqueue` runs in the same transaction (the queue engine's entry: both or neither). */
  async insert(id: string, input: SubmitJobInput, now: string, enqueue?: (tx: Db) => Promise<void>): Promise<void> {
    const spec: JobSpec = {
      framework: input.framework,
      params: input.params,
      metadata: input.metadata,
      ...(input.image ? { image: input.image } : {}),
      ...(input.command ? { command: input.command } : {}),
      ...(gpusWanted(input.gpu) > 0 ? { gpu: input.gpu } : {}),
    };
    await assertGpuCapacity(this.db, spec.gpu);
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('jobs')
        .values({
          id,
          owner: input.owner,
          kind: input.image ? 'image' : 'model',
          state: 'queued',
          reason: null,
          spec_json: JSON.stringify(spec),
          publication_json: null,
          runner_json: null,
          created_at: now,
          started_at: null,
          finished_at: null,
        })
        .execute();
      for (const f of input.files)
        await tx
          .insertInto('job_inputs')
          .values({ job_id: id, name: f.name, role: f.role, digest: f.digest, size: f.size, path: f.path })
          .execute();
      await enqueue?.(tx);
    });
  }

  // ---- reads ----

  async view(id: string): Promise<JobView | null> {
    if (!isJobId(id)) return null;
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    const inputs = await this.db
      .selectFrom('job_inputs')
      .select(['name', 'role', 'digest', 'size'])
      .where('job_id', '=', id)
      .orderBy('name')
      .execute();
    return toView(row, inputs);
  }

  /** Newest first; the cursor is "<created_at>|<id>" of the last item returned (base64url). */
  async list(q: {
    owner?: string;
    state?: JobState;
    limit: number;
    after?: string;
  }): Promise<{ items: JobView[]; next?: string }> {
    let query = this.db.selectFrom('jobs').selectAll();
    if (q.owner) query = query.where('owner', '=', q.owner);
    if (q.state) query = query.where('state', '=', q.state);
    if (q.after) {
      const [at, id] = Buffer.from(q.after, 'base64url').toString('utf8').split('|');
      if (at && id)
        query = query.where((eb) =>
          eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
        );
    }
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .execute();
    const page = rows.slice(0, q.limit);
    const ids = page.map((r) => r.id);
    const inputs = ids.length
      ? await this.db
          .selectFrom('job_inputs')
          .select(['job_id', 'name', 'role', 'digest', 'size'])
          .where('job_id', 'in', ids)
          .orderBy('name')
          .execute()
      : [];
    const items = page.map((r) =>
      toView(
        r,
        inputs.filter((i) => i.job_id === r.id),
      ),
    );
    const last = page.at(-1);
    return rows.length > q.limit && last
      ? { items, next: Buffer.from(`${last.created_at}|${last.id}`).toString('base64url') }
      : { items };
  }

  /**
   * The oldest queued job of each owner (FIFO within an owner), oldest first: what the scheduler picks from.
   * One row per owner, not the first N of the whole queue, so an owner with thousands of queued jobs cannot
   * push another owner's job out of sight.
   */
  queueHeads(limit = 1000): Promise<{ id: string; owner: string; createdAt: string }[]> {
    const ranked = this.db
      .selectFrom('jobs')
      .select([
        'id',
        'owner',
        'created_at',
        sql<number>`row_number() over (partition by owner order by created_at, id)`.as('place'),
      ])
      .where('state', '=', 'queued')
      .as('q');
    return this.db
      .selectFrom(ranked)
      .select(['q.id as id', 'q.owner as owner', 'q.created_at as createdAt'])
      .where('q.place', '=', 1)
      .orderBy('q.created_at')
      .orderBy('q.id')
      .limit(limit)
      .execute();
  }

  /** How many jobs `owner` has waiting in the queue (the per-owner cap, AIBOMGEN_MAX_QUEUED_PER_OWNER). */
  async queuedCount(owner: string): Promise<number> {
    const r = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('owner', '=', owner)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** The recorded inputs of a job (paths as recorded by the node that took it). */
  async inputs(id: string): Promise<JobInputFile[]> {
    const rows = await this.db.selectFrom('job_inputs').selectAll().where('job_id', '=', id).execute();
    return rows.map((i) => ({
      role: i.role as JobInputFile['role'],
      name: i.name,
      path: i.path,
      digest: i.digest,
      size: Number(i.size),
    }));
  }

  async knownIds(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('jobs').select('id').execute()).map((r) => r.id));
  }

  // ---- claim and state ----

  /** Claims a queued job for `worker`; null when another process took it (or it was cancelled) first. */
  async claim(id: string, worker: string, now: string): Promise<ClaimedJob | null> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'running', started_at: now, worker })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return null;
    const row = await this.db
      .selectFrom('jobs')
      .select(['id', 'owner', 'spec_json', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return { id: row.id, owner: row.owner, spec: JSON.parse(row.spec_json) as JobSpec, createdAt: row.created_at };
  }

  /** Cancels a job still queued; false when it left the queue meanwhile. */
  async cancelQueued(id: string, reason: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'cancelled', reason, finished_at: now })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Asks whichever process runs the job to stop it (that worker polls `cancelRequested`). */
  async requestCancel(id: string): Promise<void> {
    await this.db.updateTable('jobs').set({ cancel_requested: 1 }).where('id', '=', id).execute();
  }

  /** Which of `ids` someone asked to cancel. */
  async cancelRequested(ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    return (
      await this.db.selectFrom('jobs').select('id').where('id', 'in', ids).where('cancel_requested', '=', 1).execute()
    ).map((r) => r.id);
  }

  async setState(id: string, state: JobState): Promise<void> {
    await this.write(id, { state });
  }

  async setFinished(
    id: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    reason: string | undefined,
    now: string,
  ): Promise<void> {
    await this.write(id, { state, reason: reason ?? null, finished_at: now });
  }

  async setRunner(id: string, runner: RunnerInfo): Promise<void> {
    await this.write(id, { runner_json: JSON.stringify(runner) });
  }

  async setMetrics(id: string, metrics: Record<string, unknown>): Promise<void> {
    await this.write(id, { metrics_json: JSON.stringify(metrics) });
  }

  async setPublication(id: string, publication: Publication): Promise<void> {
    await this.write(id, { publication_json: JSON.stringify(publication) });
  }

  /**
   * A write of a running job's row. Inside a fenced run (queue/fence.ts) it carries "and this run still holds
   * the lease" in the same statement: a run that lost the job records nothing (LeaseLostError).
   */
  private async write(id: string, set: Updateable<JobsTable>): Promise<void> {
    const lease = currentLease();
    let q = this.db.updateTable('jobs').set(set).where('id', '=', id);
    if (lease?.jobId === id) q = q.where(leaseHeld(lease));
    const r = await q.executeTakeFirst();
    if (lease?.jobId === id && Number(r.numUpdatedRows) !== 1) throw new LeaseLostError(lease);
  }

  // ---- recovery ----

  /** Jobs of `worker` (or of no worker) a restart found cut off mid-run. */
  async interrupted(worker: string): Promise<{ id: string; state: JobState }[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'state'])
      .where('state', 'in', [...interruptedStates])
      .where((eb) => eb.or([eb('worker', '=', worker), eb('worker', 'is', null)]))
      .execute();
    return rows.map((r) => ({ id: r.id, state: r.state as JobState }));
  }

  /** Puts an interrupted job back in the queue, as if it had never started. */
  async requeue(id: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ state: 'queued', reason: null, started_at: null, runner_json: null })
      .where('id', '=', id)
      .execute();
  }
}

function toView(row: Selectable<JobsTable>, inputs: InputRow[]): JobView {
  const spec = JSON.parse(row.spec_json) as JobSpec;
  const runner = row.runner_json ? (JSON.parse(row.runner_json) as RunnerInfo) : undefined;
  return {
    id: row.id,
    state: row.state as JobState,
    owner: row.owner,
    framework: spec.framework,
    // Once run, the runner's record says which trainer ran (it may have chosen Keras for a TF.js job).
    ...(spec.image ? {} : { trainer: runner?.framework ?? trainerFramework(spec.framework) }),
    ...(runner?.trainerChoice ? { trainerChoice: runner.trainerChoice } : {}),
    ...(spec.gpu !== undefined ? { gpu: spec.gpu } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    params: spec.params,
    metadata: spec.metadata,
    inputs: inputs.map((i) => ({
      role: i.role as JobInputFile['role'],
      name: i.name,
      digest: i.digest,
      size: Number(i.size),
    })),
    ...(runner ? { runner } : {}),
    createdAt: row.created_at,
    ...(row.started_at ? { startedAt: row.started_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
    ...(row.publication_json ? { publication: JSON.parse(row.publication_json) as Publication } : {}),
    ...(row.metrics_json ? { metrics: JSON.parse(row.metrics_json) as Record<string, unknown> } : {}),
    ...(spec.image ? { image: spec.image } : {}),
    ...(spec.command ? { command: spec.command } : {}),
  };
}
