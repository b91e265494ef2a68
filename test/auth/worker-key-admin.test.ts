/**
 * The worker-key and layout administration (server/attest/worker-key-routes.ts) with auth on: an anonymous caller
 * gets 401 and a user who is not an administrator 403 on every route, and nothing changes; an administrator may
 * list, approve and revoke. The public trust material under /verifier stays readable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { publicPem } from '../../server/attest/keys.ts';
import { WorkerKeys } from '../../server/attest/worker-keys.ts';
import { TrustStore } from '../../server/attest/trust-store.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { authorization: 'Bearer token-of-alice' };
const ADMIN = { authorization: 'Bearer token-of-root' };
let srv: TestServer;
let keyId: string;

before(async () => {
  srv = await startTestServer({
    auth: 'on',
    runner: 'process',
    tokens: 'alice:token-of-alice,root:token-of-root',
    admins: 'root',
  });
  // A worker's enrolment, as `aibomgen worker` makes it (through the shared database).
  const keys = new WorkerKeys(srv.services.db, new TrustStore(srv.services.db, srv.services.config.keysDir), {
    keysDir: srv.services.config.keysDir,
    layoutExpiresDays: 365,
  });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  keyId = (await keys.enroll('w-remote', publicPem(privateKey))).keyId;
});
after(async () => {
  await srv?.close();
});

const routes = (): [string, string, unknown?][] => [
  ['GET', '/developer/admin/worker-keys'],
  ['POST', `/developer/admin/worker-keys/${keyId}/approve`],
  ['POST', `/developer/admin/worker-keys/${keyId}/revoke`],
  ['GET', '/developer/admin/layout/draft'],
  ['PUT', '/developer/admin/layout', {}],
];

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('anonymous: 401 and a user who is not an administrator: 403, on every route; nothing changes', async () => {
  for (const [method, path, body] of routes()) {
    assert.equal((await call(method, path, {}, body)).status, 401, `${method} ${path} anonymous`);
    const r = await call(method, path, USER, body);
    assert.equal(r.status, 403, `${method} ${path} as alice: ${JSON.stringify(r.body)}`);
  }
  const listed = await call('GET', '/developer/admin/worker-keys', ADMIN);
  const k = (listed.body.keys as { keyId: string; state: string }[]).find((x) => x.keyId === keyId);
  assert.equal(k?.state, 'pending', 'still pending after the refused approve and revoke');
});

test('an administrator approves (layouts re-signed with the key) and revokes; /verifier serves the layouts', async () => {
  const approved = await call('POST', `/developer/admin/worker-keys/${keyId.slice(0, 12)}/approve`, ADMIN);
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  assert.equal(approved.body.layout, 'signed');
  await new Promise((r) => setTimeout(r, 1100)); // the trust store's read cache
  const layout = (await (await fetch(`${srv.url}/verifier/layouts/train-platform.layout`)).json()) as {
    signed: { keys: Record<string, unknown> };
  };
  assert.ok(Object.keys(layout.signed.keys).includes(keyId));
  const pub = await fetch(`${srv.url}/verifier/keys/${keyId.slice(0, 16)}.pub`);
  assert.equal(pub.status, 200);
  assert.match(await pub.text(), /BEGIN PUBLIC KEY/);
  const revoked = await call('POST', `/developer/admin/worker-keys/w-remote/revoke`, ADMIN);
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
  await new Promise((r) => setTimeout(r, 1100));
  const after = (await (await fetch(`${srv.url}/verifier/layouts/root.layout`)).json()) as {
    signed: { keys: Record<string, unknown> };
  };
  assert.ok(!Object.keys(after.signed.keys).includes(keyId));
  assert.equal((await call('POST', '/developer/admin/worker-keys/no-such-worker/approve', ADMIN)).status, 404);
});
