/**
 * Per-worker signing keys. A worker makes its own P-256 key on first start and enrolls its public half
 * (`pending`); an administrator approves it (`aibomgen workers approve`) or revokes it. The layouts list the
 * platform key and every approved worker key as functionaries of the training steps; each change is re-signed
 * with the layout (root) key where this node holds it, else the change waits for layouts signed offline
 * (`aibomgen keys sign-layout`, then uploaded). A key signs jobs only while it is approved and in the layouts
 * in force (`active`), so a worker approved but not yet in a signed layout takes no jobs, and a revoked one
 * none at all: its past links fail in-toto-verify under the new layouts, and the verifier stops counting them.
 */
import { access, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayoutChange, WorkerKeyView } from '../../schema/worker-keys.ts';
import type { Db } from '../db/connect.ts';
import { keyIds } from './ecdsa.ts';
import { KEY_FILES, loadPrivateKey, stepLayoutFile } from './keys.ts';
import { layoutBody, layoutFunctionaryPems, layoutSignedBy, signLayout, type Layout } from './layout.ts';
import { canonicalJson, type CanonicalValue } from './canonical-json.ts';
import { LAYOUT_NAMES, type LayoutName, type LayoutSet, type TrustStore } from './trust-store.ts';

export type { LayoutChange, WorkerKeyView };

/** The unsigned layouts of a change, for `aibomgen keys sign-layout`. */
export type LayoutDraft = Record<LayoutName, Layout['signed']>;

/** A client error of the worker-key operations (the routes answer 4xx with its message). */
export class WorkerKeyError extends Error {
  constructor(
    message: string,
    readonly status: 404 | 409 | 422,
  ) {
    super(message);
    this.name = 'WorkerKeyError';
  }
}

/** Layouts expiring sooner than this are re-signed at start (where the root key is). */
export const RENEW_DAYS = 30;

const KIND_OF: Record<Exclude<LayoutName, 'root'>, 'platform' | 'image'> = {
  'train-platform': 'platform',
  'train-image': 'image',
};

export class WorkerKeys {
  private revokedCache?: { at: number; ids: Set<string> };

  constructor(
    private readonly db: Db,
    private readonly trust: TrustStore,
    private readonly o: { keysDir?: string; layoutExpiresDays: number },
  ) {}

  /** Records a worker's key as `pending` (idempotent: a known key keeps its state). */
  async enroll(workerId: string, publicPem: string): Promise<WorkerKeyView> {
    const keyId = keyIds(publicPem).legacy;
    await this.db
      .insertInto('attest_worker_keys')
      .values({
        key_id: keyId,
        worker_id: workerId,
        public_pem: publicPem,
        state: 'pending',
        enrolled_at: new Date().toISOString(),
        decided_at: null,
        decided_by: null,
      })
      .onConflict((oc) => oc.column('key_id').doNothing())
      .execute();
    return this.get(keyId);
  }

  async list(): Promise<WorkerKeyView[]> {
    const rows = await this.db.selectFrom('attest_worker_keys').selectAll().orderBy('enrolled_at').execute();
    const listed = await this.listedIds();
    return rows.map((r) => ({
      keyId: r.key_id,
      workerId: r.worker_id,
      state: r.state,
      publicPem: r.public_pem,
      enrolledAt: r.enrolled_at,
      decidedAt: r.decided_at,
      decidedBy: r.decided_by,
      inLayout: listed.has(r.key_id),
    }));
  }

  /** True while `keyId` may sign jobs: approved and listed in the layouts in force. */
  async active(keyId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('attest_worker_keys')
      .select('state')
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    return row?.state === 'approved' && (await this.listedIds()).has(keyId);
  }

  /** Approves the key named by `ref` (a key id, a unique prefix of one, or a worker id with one key). */
  approve(ref: string, by: string): Promise<LayoutChange> {
    return this.decide(ref, 'approved', by);
  }

  revoke(ref: string, by: string): Promise<LayoutChange> {
    return this.decide(ref, 'revoked', by);
  }

  /** The layouts the approved keys call for, unsigned (what an offline root key signs). */
  async draft(): Promise<LayoutDraft> {
    // Offline: every key the database says is approved. The person signing sees the list (`keys layout-draft`
    // prints what it adds to and removes from the layouts in force); an online root key never signs this.
    return this.bodies(await this.nextPems({ approved: true }));
  }

  /**
   * The functionary keys to sign next. The base is the layouts in force (signed by the root key, so trusted), never
   * what a database row claims: this node's platform key, the keys listed now, minus every revoked key, plus `add`
   * (an administrator's approval) or with `approved` every key approved in the database (the offline draft).
   */
  private async nextPems(o: { add?: string; approved?: boolean }): Promise<string[]> {
    const t = await this.trust.current().catch(() => undefined);
    const platformPem = this.o.keysDir
      ? await readFile(join(this.o.keysDir, KEY_FILES.platformPub), 'utf8')
      : (t?.platformPem ?? '');
    const revoked = await this.revokedIds();
    const candidates = [
      platformPem,
      ...(t ? layoutFunctionaryPems(t.layouts.root) : []),
      ...(o.approved ? await this.approvedPems() : []),
      ...(o.add ? [o.add] : []),
    ].filter(Boolean);
    const out = new Map<string, string>();
    for (const pem of candidates) {
      const id = keyIds(pem).legacy;
      if (pem === platformPem || !revoked.has(id)) out.set(id, pem);
    }
    return [...out.values()];
  }

  private bodies(functionaryPems: string[]): LayoutDraft {
    const expires = new Date(Date.now() + this.o.layoutExpiresDays * 86_400_000);
    return {
      root: layoutBody({ functionaryPems, expires }),
      'train-platform': layoutBody({ functionaryPems, expires, only: 'platform' }),
      'train-image': layoutBody({ functionaryPems, expires, only: 'image' }),
    };
  }

  /** Ids of revoked keys (in-toto ids): never signed again, and no longer counted as signers. */
  async revokedIds(): Promise<Set<string>> {
    const now = Date.now();
    if (this.revokedCache && now - this.revokedCache.at < 1000) return this.revokedCache.ids;
    const rows = await this.db
      .selectFrom('attest_worker_keys')
      .select('key_id')
      .where('state', '=', 'revoked')
      .execute();
    const ids = new Set(rows.map((r) => r.key_id));
    this.revokedCache = { at: now, ids };
    return ids;
  }

  /**
   * Takes layouts signed offline: each must be signed by the root key in force, unexpired, and say exactly
   * what the draft says (the platform key and the approved worker keys, the same steps and rules).
   */
  async upload(set: Partial<LayoutSet>, by: string): Promise<number> {
    const t = await this.trust.current();
    const want = await this.draft();
    for (const name of LAYOUT_NAMES) {
      const l = set[name];
      if (!l?.signed || !Array.isArray(l.signatures))
        throw new WorkerKeyError(`${name}: a signed layout is missing`, 422);
      if (!layoutSignedBy(l, t.rootPem))
        throw new WorkerKeyError(`${name}: not signed by the layout key in force`, 422);
      if (!(Date.parse(l.signed.expires) > Date.now()))
        throw new WorkerKeyError(`${name}: expired (${l.signed.expires})`, 422);
      if (!sameBody(l.signed, want[name]))
        throw new WorkerKeyError(
          `${name}: does not match the draft for the approved keys (GET /developer/admin/layout/draft); a key was approved or revoked since?`,
          409,
        );
    }
    return this.trust.save(set as LayoutSet, `upload by ${by}`, t.rootPem, t.platformPem);
  }

  /**
   * At start on a node holding the root key: re-signs the layouts when those in force do not list exactly the
   * platform key and the approved worker keys (first start, keys rotated with `keys init --force`), or expire
   * within RENEW_DAYS (an expired layout fails every verification).
   */
  async ensureCurrent(): Promise<number | null> {
    if (!(await this.holdsRootKey())) return null;
    const t = await this.trust.current().catch(() => undefined);
    // Renewal never adds a key: the layouts in force, narrowed by revocations (nextPems without add/approved).
    const want = this.bodies(await this.nextPems({}));
    const fresh =
      t &&
      t.version !== null &&
      LAYOUT_NAMES.every(
        (n) =>
          Date.parse(t.layouts[n].signed.expires) - Date.now() > RENEW_DAYS * 86_400_000 &&
          sameBody(t.layouts[n].signed, want[n]),
      );
    return fresh ? null : this.resign('start', want);
  }

  private async decide(ref: string, state: 'approved' | 'revoked', by: string): Promise<LayoutChange> {
    const row = await this.resolve(ref, state === 'revoked');
    // Revoking again re-signs without the key and untrusts it again (a first attempt may have been cut off).
    if (row.state === 'revoked' && state === 'approved')
      throw new WorkerKeyError(
        `key ${row.key_id} of worker ${row.worker_id} is revoked; a worker re-enrolls with a new key`,
        409,
      );
    await this.db
      .updateTable('attest_worker_keys')
      .set({ state, decided_at: new Date().toISOString(), decided_by: by })
      .where('key_id', '=', row.key_id)
      .execute();
    this.revokedCache = undefined;
    const version = (await this.holdsRootKey())
      ? await this.resign(
          `${state === 'approved' ? 'approve' : 'revoke'} ${row.key_id}`,
          this.bodies(await this.nextPems(state === 'approved' ? { add: row.public_pem } : {})),
        )
      : undefined;
    return {
      key: await this.get(row.key_id),
      layout: version === undefined ? 'needs-signing' : 'signed',
      ...(version === undefined ? {} : { version }),
    };
  }

  /** Signs the draft with this node's root key, saves it and writes the layout files of the keys directory. */
  private async resign(cause: string, draft: LayoutDraft): Promise<number> {
    const dir = this.o.keysDir!;
    const rootKey = await loadPrivateKey(dir, KEY_FILES.rootKey);
    const set: LayoutSet = {
      root: signLayout(rootKey, draft.root),
      'train-platform': signLayout(rootKey, draft['train-platform']),
      'train-image': signLayout(rootKey, draft['train-image']),
    };
    const rootPem = await readFile(join(dir, KEY_FILES.rootPub), 'utf8');
    const platformPem = await readFile(join(dir, KEY_FILES.platformPub), 'utf8');
    const version = await this.trust.save(set, cause, rootPem, platformPem);
    // The files stay what this node's operators and the README's in-toto-verify commands read. Each is written
    // whole and renamed into place: a crash leaves the old file or the new one, never a part.
    const put = async (file: string, layout: Layout) => {
      const tmp = join(dir, `.${file}.tmp`);
      await writeFile(tmp, `${JSON.stringify(layout, null, 2)}\n`);
      await rename(tmp, join(dir, file));
    };
    await put(KEY_FILES.layout, set.root);
    for (const [name, kind] of Object.entries(KIND_OF)) await put(stepLayoutFile(kind), set[name as LayoutName]);
    return version;
  }

  private async holdsRootKey(): Promise<boolean> {
    if (!this.o.keysDir) return false;
    return access(join(this.o.keysDir, KEY_FILES.rootKey)).then(
      () => true,
      () => false,
    );
  }

  private async approvedPems(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('attest_worker_keys')
      .select('public_pem')
      .where('state', '=', 'approved')
      .orderBy('key_id')
      .execute();
    return rows.map((r) => r.public_pem);
  }

  private async listedIds(): Promise<Set<string>> {
    const t = await this.trust.current().catch(() => undefined);
    return new Set(t ? Object.keys(t.layouts.root.signed.keys ?? {}) : []);
  }

  /** The key `ref` names; `withRevoked`: a worker's revoked key too (revoking it again). */
  private async resolve(ref: string, withRevoked = false) {
    const r = ref
      .trim()
      .toLowerCase()
      .replace(/^sha256:/, '');
    if (!r) throw new WorkerKeyError('a key id or worker id is required', 422);
    const rows = await this.db.selectFrom('attest_worker_keys').selectAll().execute();
    // A key id by at least 8 hex digits: one or two would name a key by chance.
    const byKey = /^[0-9a-f]{8,64}$/.test(r) ? rows.filter((x) => x.key_id.startsWith(r)) : [];
    const ofWorker = rows.filter((x) => x.worker_id.toLowerCase() === r);
    const liveOfWorker = ofWorker.filter((x) => x.state !== 'revoked');
    // A worker's live key; when revoking again and it has none, its revoked key(s).
    const byWorker = liveOfWorker.length || !withRevoked ? liveOfWorker : ofWorker;
    const hits = byKey.length ? byKey : byWorker;
    if (hits.length === 0) throw new WorkerKeyError(`no worker key or worker named ${ref}`, 404);
    if (hits.length > 1)
      throw new WorkerKeyError(
        `${ref} names ${hits.length} keys (${hits.map((h) => h.key_id.slice(0, 12)).join(', ')}): give more of the key id`,
        409,
      );
    return hits[0]!;
  }

  private async get(keyId: string): Promise<WorkerKeyView> {
    const v = (await this.list()).find((k) => k.keyId === keyId);
    if (!v) throw new WorkerKeyError(`no worker key ${keyId}`, 404);
    return v;
  }
}

/** The same layout body but for its expiry. */
function sameBody(a: Layout['signed'], b: Layout['signed']): boolean {
  const c = (s: Layout['signed']) => canonicalJson({ ...s, expires: '' } as unknown as CanonicalValue);
  return c(a) === c(b);
}
