/**
 * The layouts in force (server/attest/trust-store.ts, worker-keys.ts) on a real database: signed once at first
 * start, re-signed when they near expiry or when the keys directory was rotated, and refused from the database
 * when they are not signed by this node's root.pub; an upload is taken only when it is exactly the draft.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initKeys, KEY_FILES, loadPrivateKey, publicPem } from '../../server/attest/keys.ts';
import { layoutBody, signLayout } from '../../server/attest/layout.ts';
import { TrustStore, type LayoutSet } from '../../server/attest/trust-store.ts';
import { RENEW_DAYS, WorkerKeyError, WorkerKeys } from '../../server/attest/worker-keys.ts';
import { openDatabase } from '../../server/db/connect.ts';

const dir = mkdtempSync(join(tmpdir(), 'layouts-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function setup() {
  const db = await openDatabase(':memory:');
  const keysDir = join(dir, `keys-${Math.random().toString(36).slice(2)}`);
  await initKeys(keysDir);
  const trust = new TrustStore(db, keysDir);
  const keys = new WorkerKeys(db, trust, { keysDir, layoutExpiresDays: 365 });
  return { db, keysDir, trust, keys };
}

/** Waits out the trust store's one-second read cache. */
const fresh = () => new Promise((r) => setTimeout(r, 1100));

test('signed once at first start; re-signed only when near expiry', async () => {
  const { db, keysDir, trust, keys } = await setup();
  assert.equal(await keys.ensureCurrent(), 1);
  await fresh();
  assert.equal(await keys.ensureCurrent(), null, 'nothing changed: no new version');
  // Layouts expiring in 10 days (signed by the real root key) are renewed at the next start.
  const t = await trust.current();
  const root = await loadPrivateKey(keysDir, KEY_FILES.rootKey);
  const soon = new Date(Date.now() + 10 * 86_400_000);
  const body = (only?: 'platform' | 'image') =>
    layoutBody({ functionaryPems: [t.platformPem], expires: soon, ...(only ? { only } : {}) });
  const near: LayoutSet = {
    root: signLayout(root, body()),
    'train-platform': signLayout(root, body('platform')),
    'train-image': signLayout(root, body('image')),
  };
  await trust.save(near, 'test', t.rootPem, t.platformPem);
  await fresh();
  assert.equal(await keys.ensureCurrent(), 3);
  await fresh();
  const renewed = await trust.current();
  assert.ok(Date.parse(renewed.layouts.root.signed.expires) - Date.now() > RENEW_DAYS * 86_400_000);
  await db.destroy();
});

test('a database row not signed by this node’s root.pub is refused; a start with the root key re-signs', async () => {
  const { db, trust, keys } = await setup();
  await keys.ensureCurrent();
  await fresh();
  const t = await trust.current();
  const { privateKey: other } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const body = (only?: 'platform' | 'image') =>
    layoutBody({
      functionaryPems: [t.platformPem, publicPem(other)],
      expires: new Date(Date.now() + 86_400_000 * 100),
      ...(only ? { only } : {}),
    });
  // Someone with write access to the database, without the root key, adds a layout trusting their own key.
  await trust.save(
    {
      root: signLayout(other, body()),
      'train-platform': signLayout(other, body('platform')),
      'train-image': signLayout(other, body('image')),
    },
    'forged',
    publicPem(other),
    t.platformPem,
  );
  await fresh();
  await assert.rejects(trust.current(), /not signed by this node’s root.pub/);
  assert.equal(await keys.ensureCurrent(), 3, 'the node holding the root key puts its own layouts back');
  await fresh();
  assert.equal(Object.keys((await trust.current()).layouts.root.signed.keys).length, 1);
  await db.destroy();
});

test('an upload must be the draft, signed by the root key in force, unexpired', async () => {
  const { db, keysDir, trust, keys } = await setup();
  await keys.ensureCurrent();
  const root = await loadPrivateKey(keysDir, KEY_FILES.rootKey);
  const { privateKey: w } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pending = await keys.enroll('w-pending', publicPem(w));
  await fresh();
  const draft = await keys.draft();
  const sign = (d: typeof draft): LayoutSet => ({
    root: signLayout(root, d.root),
    'train-platform': signLayout(root, d['train-platform']),
    'train-image': signLayout(root, d['train-image']),
  });
  // Listing the pending key (not approved): not the draft.
  const t = await trust.current();
  const withPending = (only?: 'platform' | 'image') =>
    layoutBody({
      functionaryPems: [t.platformPem, pending.publicPem],
      expires: new Date(Date.now() + 86_400_000),
      ...(only ? { only } : {}),
    });
  await assert.rejects(
    keys.upload(
      sign({ root: withPending(), 'train-platform': withPending('platform'), 'train-image': withPending('image') }),
      'admin',
    ),
    (e: unknown) => e instanceof WorkerKeyError && e.status === 409,
  );
  const expired = structuredClone(draft);
  for (const n of ['root', 'train-platform', 'train-image'] as const) expired[n].expires = '2020-01-01T00:00:00Z';
  await assert.rejects(keys.upload(sign(expired), 'admin'), /expired/);
  assert.equal(await keys.upload(sign(draft), 'admin'), 2);
  await db.destroy();
});

test('a key approved only in the database is never signed by the online root key; approve and revoke are', async () => {
  const { db, trust, keys } = await setup();
  await keys.ensureCurrent();
  const { privateKey: w } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const k = await keys.enroll('w-sneaky', publicPem(w));
  // A database writer (a worker holds the database URL) marks its own key approved.
  await db.updateTable('attest_worker_keys').set({ state: 'approved' }).where('key_id', '=', k.keyId).execute();
  await fresh();
  // A start keeps the signed set: it never adds what the database says.
  const t = await trust.current();
  assert.equal(await keys.ensureCurrent(), null);
  assert.equal(Object.keys(t.layouts.root.signed.keys).length, 1);
  assert.equal(await keys.active(k.keyId), false, 'approved in the database, not in a signed layout: no jobs');
  // An administrator's approval of another key re-signs with that key only, not the sneaky one.
  const { privateKey: w2 } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const k2 = await keys.enroll('w-honest', publicPem(w2));
  const change = await keys.approve('w-honest', 'admin');
  assert.equal(change.layout, 'signed');
  await fresh();
  const listed = Object.keys((await trust.current()).layouts.root.signed.keys);
  assert.ok(listed.includes(k2.keyId));
  assert.ok(!listed.includes(k.keyId), 'the key approved only in the database is not signed in');
  // Revoking twice is allowed (a cut-off first attempt can be finished) and leaves it out.
  await keys.revoke('w-honest', 'admin');
  await keys.revoke(k2.keyId.slice(0, 12), 'admin');
  await fresh();
  assert.ok(!Object.keys((await trust.current()).layouts.root.signed.keys).includes(k2.keyId));
  await assert.rejects(keys.approve(k2.keyId.slice(0, 4), 'admin'), /no worker key or worker named/);
  await db.destroy();
});

test('a database row cannot swap the platform key; a restart with the layout key offline keeps root.pub', async () => {
  const { db, keysDir, trust, keys } = await setup();
  await keys.ensureCurrent();
  await fresh();
  const t = await trust.current();
  const { privateKey: other } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await trust.save(t.layouts, 'swap', t.rootPem, publicPem(other));
  await fresh();
  assert.equal((await trust.current()).platformPem, t.platformPem, "this node's platform.pub, not the row's");
  // The layout key goes offline (root.key moved away); the next start makes no new root key.
  const rootPub = readFileSync(join(keysDir, KEY_FILES.rootPub), 'utf8');
  renameSync(join(keysDir, KEY_FILES.rootKey), join(dir, 'offline-root.key'));
  assert.deepEqual(await initKeys(keysDir), []);
  assert.equal(readFileSync(join(keysDir, KEY_FILES.rootPub), 'utf8'), rootPub);
  assert.equal(existsSync(join(keysDir, KEY_FILES.rootKey)), false);
  assert.equal(await keys.ensureCurrent(), null, 'nothing to sign with: nothing changes');
  await fresh();
  assert.equal((await trust.current()).rootPem, rootPub);
  await db.destroy();
});
