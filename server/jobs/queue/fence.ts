/**
 * Fencing: a run writes only while it holds the job's lease. The scheduler runs each job inside `runFenced`
 * (AsyncLocalStorage carries the run's lease through every await, so the publisher and the job store need no
 * new parameters). Two guards read it:
 *   - the job store (queue.ts) adds "and the lease's epoch is still this run's" to each state, runner and
 *     publication write — in the same statement, so a run that lost the job can record nothing;
 *   - `fencedTarget` wraps the registry the publisher writes through: before each manifest push (the model, its
 *     referrers, the tag) it records the push in `job_pushes` by one INSERT … SELECT that succeeds only while
 *     the lease is live with FENCE_MARGIN_MS left, so a run revived after its lease expired pushes nothing more,
 *     and the run that took over knows exactly what a dead run pushed and removes it before publishing.
 * Blobs are not fenced: unreferenced, content-addressed, they are garbage, never a listed version.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'kysely';
import type { Db } from '../../db/connect.ts';
import { INPUT_NAMESPACES } from '../../attest/publisher.ts';
import type { OciTarget } from '../../oci/target.ts';
import { digestOf } from '../../oci/digest.ts';
import type { Lease } from './lease.ts';

/** A fenced push is refused when less than this is left of the lease: enough for the push to land. */
export const FENCE_MARGIN_MS = 1000;

/** The run lost its lease (expired, or another run took the job over): it must stop writing. */
export class LeaseLostError extends Error {
  constructor(l: Pick<Lease, 'jobId' | 'epoch'>) {
    super(`job ${l.jobId}: run ${l.epoch} no longer holds the job's lease (another run took it over)`);
    this.name = 'LeaseLostError';
  }
}

interface RunContext {
  lease: Lease;
  db: Db;
  /** Set once this run removed what earlier runs of the job pushed. */
  cleaned?: Promise<void>;
  seq: number;
}

const current = new AsyncLocalStorage<RunContext>();

/** Runs `fn` (a job's execution) fenced by `lease`. */
export function runFenced<T>(db: Db, lease: Lease, fn: () => Promise<T>): Promise<T> {
  return current.run({ lease, db, seq: 0 }, fn);
}

/** The lease of the run this code executes for, if any (the job store's fenced writes read it). */
export function currentLease(): Lease | undefined {
  return current.getStore()?.lease;
}

/** SQL condition "the job's lease is this run's and live": for the job store's UPDATEs on `jobs`. */
export function leaseHeld(l: Lease) {
  return sql<boolean>`exists (select 1 from job_leases where job_leases.job_id = ${l.jobId}
    and job_leases.epoch = ${l.epoch} and job_leases.state = 'active' and job_leases.lease_until > ${Date.now()})`;
}

/**
 * Inside a run of `jobId`: throws LeaseLostError unless the run still holds the lease (the event log checks
 * it in the transaction that appends an event, so a run that lost the job adds nothing to its events).
 */
export async function assertLeaseHeld(db: Pick<Db, 'selectFrom'>, jobId: string): Promise<void> {
  const lease = currentLease();
  if (lease?.jobId !== jobId) return;
  const row = await db
    .selectFrom('job_leases')
    .select('epoch')
    .where('job_id', '=', jobId)
    .where('epoch', '=', lease.epoch)
    .where('state', '=', 'active')
    .executeTakeFirst();
  if (!row) throw new LeaseLostError(lease);
}

/** Records a push of the current run, refused (LeaseLostError) unless the lease is live with a margin left. */
async function recordPush(ctx: RunContext, repo: string, digest: string, tag: string | null): Promise<void> {
  const { lease, db } = ctx;
  const seq = ++ctx.seq;
  const until = Date.now() + FENCE_MARGIN_MS;
  const r = await db
    .insertInto('job_pushes')
    .columns(['job_id', 'epoch', 'seq', 'repo', 'digest', 'tag'])
    .expression(
      db
        .selectFrom('job_leases')
        .select([
          sql.val(lease.jobId).as('job_id'),
          sql.lit(lease.epoch).as('epoch'),
          sql.lit(seq).as('seq'),
          sql.val(repo).as('repo'),
          sql.val(digest).as('digest'),
          sql.val(tag).as('tag'),
        ])
        .where('job_id', '=', lease.jobId)
        .where('epoch', '=', lease.epoch)
        .where('state', '=', 'active')
        .where('lease_until', '>', until),
    )
    .executeTakeFirst();
  if (Number(r.numInsertedOrUpdatedRows ?? 0) !== 1) throw new LeaseLostError(lease);
}

/** Checks the lease without recording (deletes of the run's own rollback). */
async function check(ctx: RunContext): Promise<void> {
  const row = await ctx.db
    .selectFrom('job_leases')
    .select('epoch')
    .where('job_id', '=', ctx.lease.jobId)
    .where('epoch', '=', ctx.lease.epoch)
    .where('state', '=', 'active')
    .where('lease_until', '>', Date.now() + FENCE_MARGIN_MS)
    .executeTakeFirst();
  if (!row) throw new LeaseLostError(ctx.lease);
}

/**
 * Removes what earlier runs of the job pushed to the model's repository (their model manifest, referrers,
 * signature and fallback tags), newest first, before this run's first push. Inputs (datasets/, base-models/)
 * are left: their manifests are the same bytes for every run and may be shared with other jobs.
 */
async function removeEarlierRuns(target: OciTarget, ctx: RunContext): Promise<void> {
  await check(ctx); // a run that lost the job leaves the cleaning to the run that holds it
  const rows = await ctx.db
    .selectFrom('job_pushes')
    .selectAll()
    .where('job_id', '=', ctx.lease.jobId)
    .where('epoch', '<', ctx.lease.epoch)
    .orderBy('epoch', 'desc')
    .orderBy('seq', 'desc')
    .execute();
  const inputs = INPUT_NAMESPACES.map((n) => `${n}/`);
  for (const r of rows) {
    if (inputs.some((p) => r.repo.startsWith(p))) continue;
    if (r.tag?.startsWith('sha256-')) await target.deleteManifest(r.repo, r.tag).catch(() => undefined);
    await target.deleteManifest(r.repo, r.digest).catch(() => undefined);
  }
}

/** The registry as a fenced run sees it: manifest writes need the lease; outside a run, unchanged. */
export function fencedTarget(target: OciTarget): OciTarget {
  const before = async (ctx: RunContext): Promise<void> => {
    ctx.cleaned ??= ctx.lease.epoch > 1 ? removeEarlierRuns(target, ctx) : Promise.resolve();
    await ctx.cleaned;
  };
  return {
    blobSize: (repo, digest) => target.blobSize(repo, digest),
    pushBlob: (repo, bytes, mediaType, annotations) => target.pushBlob(repo, bytes, mediaType, annotations),
    pushBlobFile: (repo, path, mediaType, annotations) => target.pushBlobFile(repo, path, mediaType, annotations),
    openBlob: (repo, digest, opts) => target.openBlob(repo, digest, opts),
    fetchBlob: (repo, digest, opts) => target.fetchBlob(repo, digest, opts),
    pullBlobToFile: (repo, digest, path) => target.pullBlobToFile(repo, digest, path),
    getManifest: (repo, ref, opts) => target.getManifest(repo, ref, opts),
    tags: (repo) => target.tags(repo),
    referrers: (repo, digest, artifactType) => target.referrers(repo, digest, artifactType),
    async pushManifest(repo, ref, bytes, mediaType) {
      const ctx = current.getStore();
      if (ctx) {
        await before(ctx);
        await recordPush(ctx, repo, digestOf(bytes), ref.startsWith('sha256:') ? null : ref);
      }
      return target.pushManifest(repo, ref, bytes, mediaType);
    },
    async deleteManifest(repo, ref) {
      const ctx = current.getStore();
      if (ctx) await check(ctx);
      return target.deleteManifest(repo, ref);
    },
    async addToFallbackIndex(repo, subjectDigest, add) {
      const ctx = current.getStore();
      if (ctx) {
        await before(ctx);
        // The index's own digest is not known here: recorded by its tag, which the cleanup deletes.
        await recordPush(ctx, repo, subjectDigest, subjectDigest.replace(':', '-'));
      }
      return target.addToFallbackIndex(repo, subjectDigest, add);
    },
  };
}
