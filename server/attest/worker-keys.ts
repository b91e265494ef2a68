/**
 * Per-worker signing keys. A worker makes its own P-256 key on first start and enrolls its public half
 * (`pending`); an administrator approves it (`aibomgen workers approve`) or revokes it. The layouts list the
 * platform key and every approved worker key as functionaries of the training steps; each change is re-signed
 * with the layout (root) key where this node holds it, else the change waits for layouts signed offline
 * (`aibomgen keys sign-layout`, then uploaded). A key signs jobs only while it is approved and in the layouts
 * in force (`active`), so a worker approved but not yet in a signed layout takes no jobs, and a revoked one
 * none at all: its past links fail in-toto-verify under the new layouts, and the verifier stops counting them.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
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
    // This node's own platform key where it has the keys directory (what a database row says is not trusted).
    const platformPem = this.o.keysDir
      ? await readFile(join(this.o.keysDir, KEY_FILES.platformPub), 'utf8')
      : (await this.trust.current()).platformPem;
    const workers = await this.approvedPems();
    const expires = new Date(Date.now() + this.o.layoutExpiresDays * 86_400_000);
    const functionaryPems = [platformPem, ...workers];
    return {
      root: layoutBody({ functionaryPems, expires }),
      'train-platform': layoutBody({ functionaryPems, expires, only: 'platform' }),
      'train-image': layoutBody({ functionaryPems, expires, only: 'image' }),
    };
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
      const same = (s: Layout['signed']) => canonicalJson({ ...s, expires: '' } as unknown as CanonicalValue);
      if (same(l.signed) !== same(want[name]))
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
    const want = await this.draft().catch(() => undefined);
    const fresh =
      t &&
      want &&
      t.version !== null &&
      Date.parse(t.layouts.root.signed.expires) - Date.now() > RENEW_DAYS * 86_400_000 &&
      LAYOUT_NAMES.every(
        (n) =>
          sameKeys(layoutFunctionaryPems(t.layouts[n]), layoutFunctionaryPems({ signed: want[n], signatures: [] })) &&
          t.layouts[n].signed.readme === want[n].readme,
      );
    return fresh ? null : this.resign('start');
  }

  private async decide(ref: string, state: 'approved' | 'revoked', by: string): Promise<LayoutChange> {
    const row = await this.resolve(ref);
    if (row.state === 'revoked')
      throw new WorkerKeyError(
        `key ${row.key_id} of worker ${row.worker_id} is revoked; a worker re-enrolls with a new key`,
        409,
      );
    await this.db
      .updateTable('attest_worker_keys')
      .set({ state, decided_at: new Date().toISOString(), decided_by: by })
      .where('key_id', '=', row.key_id)
      .execute();
    const version = (await this.holdsRootKey())
      ? await this.resign(`${state === 'approved' ? 'approve' : 'revoke'} ${row.key_id}`)
      : undefined;
    return {
      key: await this.get(row.key_id),
      layout: version === undefined ? 'needs-signing' : 'signed',
      ...(version === undefined ? {} : { version }),
    };
  }

  /** Signs the draft with this node's root key, saves it and writes the layout files of the keys directory. */
  private async resign(cause: string): Promise<number> {
    const dir = this.o.keysDir!;
    const rootKey = await loadPrivateKey(dir, KEY_FILES.rootKey);
    const draft = await this.draft();
    const set: LayoutSet = {
      root: signLayout(rootKey, draft.root),
      'train-platform': signLayout(rootKey, draft['train-platform']),
      'train-image': signLayout(rootKey, draft['train-image']),
    };
    const rootPem = await readFile(join(dir, KEY_FILES.rootPub), 'utf8');
    const platformPem = await readFile(join(dir, KEY_FILES.platformPub), 'utf8');
    const version = await this.trust.save(set, cause, rootPem, platformPem);
    // The files stay what this node's operators and the README's in-toto-verify commands read.
    await writeFile(join(dir, KEY_FILES.layout), `${JSON.stringify(set.root, null, 2)}\n`);
    for (const [name, kind] of Object.entries(KIND_OF))
      await writeFile(join(dir, stepLayoutFile(kind)), `${JSON.stringify(set[name as LayoutName], null, 2)}\n`);
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

  private async resolve(ref: string) {
    const r = ref
      .trim()
      .toLowerCase()
      .replace(/^sha256:/, '');
    if (!r) throw new WorkerKeyError('a key id or worker id is required', 422);
    const rows = await this.db.selectFrom('attest_worker_keys').selectAll().execute();
    const byKey = rows.filter((x) => x.key_id.startsWith(r));
    const live = (xs: typeof rows) => xs.filter((x) => x.state !== 'revoked');
    const byWorker = live(rows.filter((x) => x.worker_id.toLowerCase() === r));
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

function sameKeys(a: string[], b: string[]): boolean {
  const ids = (xs: string[]) =>
    xs
      .map((p) => keyIds(p).legacy)
      .sort()
      .join(',');
  return ids(a) === ids(b);
}
