import assert from 'node:assert/strict';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { JobResponse } from '../../schema/api.ts';
import { Annotation } from '../../schema/media-types.ts';
import type { CrashPointName } from '../../server/ops/crash-point.ts';
import {
  artifact,
  catalog,
  type Crash,
  exited,
  listTags,
  putManifest,
  ready,
  resolve,
  type ServerProcess,
  sha256,
  spawnServer,
  stop,
} from './crash-server.ts';
import { submit, tabularForm, waitForState } from './jobs.ts';

export type StoreMode = 'embedded' | 'upstream';
type Trigger = 'job' | 'tag-move' | 'tag-delete';

/** A kill at `first` during `trigger`, then a kill during each restart of `restarts` (recovery, reconcile), then a clean start. */
export interface Scenario {
  trigger: Trigger;
  first: Crash;
  restarts?: CrashPointName[];
  only?: StoreMode;
}

const job = (at: CrashPointName, nth = 1, restarts?: CrashPointName[]): Scenario => ({
  trigger: 'job',
  first: { at, nth },
  ...(restarts ? { restarts } : {}),
});

/**
 * Every point in CRASH_POINTS is hit by at least one scenario (in the mode that has it). A point that is also the
 * first kill of a scenario with killed restarts is not run alone as well: the end state checked is the same, and
 * each scenario costs two or three server starts (~3 s each on 2 cores).
 */
export const SCENARIOS: Scenario[] = [
  job('publish:attested'),
  job('publish:input-manifest'),
  job('publish:blobs-pushed'),
  job('publish:referrer'),
  job('publish:fallback-index'),
  job('publish:before-tag'),
  // The recovery of an interrupted publication, itself killed, then finished by the next start.
  job('publish:referrers-pushed', 1, ['registry:cascade-stored-deleted']),
  job('publish:manifest', 1, ['registry:cascade-row-deleted']),
  job('publish:referrer', 2, ['recovery:publication-removed']),
  job('publish:after-tag', 1, ['recovery:before-finish']),
  job('publish:blob', 1, ['recovery:before-finish']),
  {
    trigger: 'job',
    first: { at: 'publish:fallback-index' },
    restarts: ['embedded:manifest-unlinked'],
    only: 'embedded',
  },
  // A client moving and removing tags (the 2nd manifest PUT of a tag move is the move).
  { trigger: 'tag-move', first: { at: 'registry:manifest-stored', nth: 2 } },
  { trigger: 'tag-move', first: { at: 'registry:index-row', nth: 2 }, restarts: ['reconcile:row-removed'] },
  { trigger: 'tag-move', first: { at: 'embedded:manifest-bytes', nth: 2 }, only: 'embedded' },
  { trigger: 'tag-delete', first: { at: 'registry:tag-deleted' } },
  { trigger: 'tag-delete', first: { at: 'upstream:tag-delete-intent' }, only: 'upstream' },
  { trigger: 'tag-delete', first: { at: 'upstream:tag-delete-deleted' }, only: 'upstream' },
  { trigger: 'tag-delete', first: { at: 'upstream:tag-delete-reput' }, only: 'upstream' },
];

const MODEL = 'crash-model';
const ART = 'crash/art';

/** What must hold after every scenario: tag → the digests it may point at (null: may be gone). */
export class CrashWorld {
  readonly expect = new Map<string, Set<string | null>>();
  private n = 0;
  constructor(
    readonly mode: StoreMode,
    readonly env: Record<string, string>,
    readonly work: string,
    readonly dataDir: string,
  ) {}

  /** A published model version and a client artifact with a few tags, made by a server that is not killed. */
  async setUp(): Promise<void> {
    const s = await spawnServer(this.env);
    try {
      await ready(s);
      const { body } = await submit(s.url, await tabularForm(this.work, { epochs: 1, samples: 40, name: MODEL }));
      const j = await waitForState(s.url, body.job_id);
      assert.equal(j.status, 'succeeded', `the first publication: ${j.reason}`);
      const bytes = await artifact(s.url, ART, 'base');
      for (const t of ['keep1', 'keep2', 'move1', 'del1'])
        assert.equal((await putManifest(s.url, ART, t, bytes)).status, 201);
      for (const t of ['keep1', 'keep2']) this.expect.set(`${ART}:${t}`, new Set([sha256(bytes)]));
      this.expect.set(`models/${MODEL}:1.0.0`, new Set([await resolve(s.url, `models/${MODEL}`, '1.0.0')]));
    } finally {
      await stop(s);
    }
  }

  /** Runs one scenario: the kills, the clean restart, and every check. */
  async run(sc: Scenario): Promise<void> {
    const label = `${sc.first.at}#${sc.first.nth ?? 1}${sc.restarts ? ` → ${sc.restarts.join(' → ')}` : ''}`;
    const n = ++this.n;
    const first = await spawnServer(this.env, sc.first);
    let jobId: string | undefined;
    const modelRef = `models/${MODEL}:1.0.0`;
    try {
      await ready(first);
      const before = await resolve(first.url, `models/${MODEL}`, '1.0.0');
      if (sc.trigger === 'job') {
        const { body } = await submit(first.url, await tabularForm(this.work, { epochs: 1, samples: 40, name: MODEL }));
        jobId = body.job_id;
        // The tag moves to the new version or stays: both verify (checked below).
        this.expect.set(modelRef, new Set([before]));
      } else if (sc.trigger === 'tag-move') {
        const tag = `move${n}`;
        const old = await artifact(first.url, ART, `old ${n}`);
        assert.equal((await putManifest(first.url, ART, tag, old)).status, 201);
        const next = await artifact(first.url, ART, `new ${n}`);
        this.expect.set(`${ART}:${tag}`, new Set([sha256(old), sha256(next)]));
        await putManifest(first.url, ART, tag, next).catch(() => undefined); // the server dies answering
      } else {
        const bytes = await artifact(first.url, ART, `del ${n}`);
        for (const t of [`del${n}`, `stay${n}`])
          assert.equal((await putManifest(first.url, ART, t, bytes)).status, 201);
        this.expect.set(`${ART}:del${n}`, new Set([sha256(bytes), null]));
        this.expect.set(`${ART}:stay${n}`, new Set([sha256(bytes)]));
        await fetch(`${first.url}/v2/${ART}/manifests/del${n}`, { method: 'DELETE' }).catch(() => undefined);
      }
      assert.equal(await exited(first, 120_000), 'SIGKILL', `${label}: the server was killed at its point`);
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) await stop(first);
    }
    for (const at of sc.restarts ?? []) {
      const s = await spawnServer(this.env, { at });
      assert.equal(await exited(s, 120_000), 'SIGKILL', `${label}: the restart was killed at ${at}`);
    }
    const s = await spawnServer(this.env);
    try {
      await ready(s);
      await this.check(s, label, jobId);
    } finally {
      await stop(s);
    }
  }

  private async check(s: ServerProcess, label: string, jobId?: string): Promise<void> {
    const job: JobResponse | undefined = jobId ? await waitForState(s.url, jobId, undefined, 60_000) : undefined;
    // A publication that completed (recovered or not) may have moved its version tag: to its own digest only.
    const pub = job?.status === 'succeeded' ? job.publication : undefined;
    if (pub) this.expect.get(`${pub.repository}:${pub.tag}`)?.add(pub.digest);
    // 1. No tag lost: each resolves to a digest it may have (and is pinned to it from now on).
    for (const [ref, allowed] of this.expect) {
      const [repo, tag] = ref.split(':') as [string, string];
      const got = await resolve(s.url, repo, tag);
      assert.ok(allowed.has(got), `${label}: ${ref} resolves to ${got}, expected one of ${[...allowed].join(', ')}`);
      if (got === null) this.expect.delete(ref);
      else this.expect.set(ref, new Set([got]));
    }
    // 2. Every version listed in the platform's namespaces verifies; no evidence tag outlives its subject.
    const db = new SQLite(join(this.dataDir, 'aibomgen.db'), { readonly: true });
    try {
      const has = db.prepare('select 1 from registry_manifests where repo = ? and digest = ?');
      for (const repo of (await catalog(s.url)).filter((r) => r.startsWith('models/'))) {
        for (const tag of await listTags(s.url, repo)) {
          const ev = /^(sha256)-([a-f0-9]{64})/.exec(tag);
          if (ev) {
            assert.ok(has.get(repo, `${ev[1]}:${ev[2]}`), `${label}: ${repo}:${tag} describes a removed manifest`);
            continue;
          }
          const r = (await (await fetch(`${s.url}/verifier/verify/${repo}:${tag}`)).json()) as { verified: boolean };
          assert.equal(r.verified, true, `${label}: ${repo}:${tag} is listed and must verify`);
        }
      }
      // 3. The front's index holds only what the store holds, and no referrer of a removed manifest.
      const rows = db.prepare('select repo, digest, subject_digest from registry_manifests').all() as {
        repo: string;
        digest: string;
        subject_digest: string | null;
      }[];
      for (const r of rows) {
        assert.notEqual(
          await resolve(s.url, r.repo, r.digest),
          null,
          `${label}: ${r.repo}@${r.digest} indexed, not stored`,
        );
        if (r.subject_digest && r.repo.startsWith('models/'))
          assert.ok(has.get(r.repo, r.subject_digest), `${label}: orphaned referrer ${r.repo}@${r.digest}`);
      }
      // 4. The job ended failed (nothing of it left) or succeeded with a publication that verifies.
      if (job) {
        if (pub) {
          const r = (await (await fetch(`${s.url}/verifier/verify/${pub.repository}@${pub.digest}`)).json()) as {
            verified: boolean;
          };
          assert.equal(r.verified, true, `${label}: the recovered publication verifies`);
          assert.equal(await resolve(s.url, pub.repository, pub.tag), pub.digest, `${label}: its tag points at it`);
        } else {
          assert.equal(job.status, 'failed', `${label}: job ${job.status} ${job.reason ?? ''}`);
          const left = db
            .prepare('select digest from registry_manifests where annotations_json like ?')
            .all(`%"${Annotation.job}":"${job.job_id}"%`);
          assert.deepEqual(left, [], `${label}: nothing of the failed job stays in the registry`);
          for (const repo of (await catalog(s.url)).filter((r) => r.startsWith('datasets/')))
            assert.ok(!(await listTags(s.url, repo)).includes(job.job_id), `${label}: ${repo}:${job.job_id} stays`);
        }
      }
    } finally {
      db.close();
    }
  }
}
