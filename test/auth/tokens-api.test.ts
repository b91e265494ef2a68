/**
 * Managed API tokens over REST (/developer/tokens) and GraphQL (tokens, createToken, revokeToken): shown once,
 * listed without secrets, limited by scopes and expiry, revocable; only administrators act for others or grant
 * `admin`; bad input is a 400 naming the field and stores nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
/** carol: an administrator by AIBOMGEN_ADMINS, with a fixed token. */
const admin = { token: 'static-carol' };

const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { detail?: string } };
};
const count = async () => (await srv.services.db.selectFrom('auth_tokens').selectAll().execute()).length;

async function gql(token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions: { code: string } }[];
  };
}

before(async () => {
  srv = await startTestServer({ auth: 'on', runner: 'process', tokens: 'carol:static-carol', admins: 'carol' });
  // AIBOMGEN_TOKENS is set, so there is no bootstrap token: carol (an admin by AIBOMGEN_ADMINS) makes the rest.
  assert.equal(srv.adminToken, undefined);
});
after(async () => {
  await srv?.close();
});

test('create shows the token once; list shows no secret; the token works; revoked and expired tokens are refused', async () => {
  const created = await call('POST', '/developer/tokens', admin.token, { name: 'ci', owner: 'alice' });
  assert.equal(created.status, 201);
  const token = created.body.token as string;
  assert.match(token, /^abg_[A-Za-z0-9_-]{43}$/);
  assert.equal(created.body.owner, 'alice');
  assert.equal(created.body.created_by, 'carol');
  assert.equal(created.body.scopes, undefined, 'no scopes asked: every right of its owner');

  const listed = await call('GET', '/developer/tokens', token);
  assert.equal(listed.status, 200);
  const items = listed.body.items as Record<string, unknown>[];
  assert.deepEqual(
    items.map((t) => t.id),
    [created.body.id],
  );
  assert.ok(!JSON.stringify(listed.body).includes(token) && !('hash' in items[0]!), 'never the token or its hash');
  assert.ok(items[0]!.last_used_at, 'last use recorded');
  assert.equal((await call('GET', '/developer/jobs', token)).status, 200);

  const revoked = await call('DELETE', `/developer/tokens/${created.body.id}`, token);
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.revoked_at);
  const after = await call('GET', '/developer/jobs', token);
  assert.equal(after.status, 401);
  assert.match(after.body.detail ?? '', /token "ci" was revoked at /);

  const short = await call('POST', '/developer/tokens', admin.token, {
    name: 'short',
    owner: 'alice',
    expires_in_days: 1,
  });
  assert.equal(short.status, 201);
  assert.ok(Date.parse(short.body.expires_at as string) > Date.now());
  await srv.services.db
    .updateTable('auth_tokens')
    .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
    .where('id', '=', short.body.id as string)
    .execute();
  const expired = await call('GET', '/developer/jobs', short.body.token as string);
  assert.equal(expired.status, 401);
  assert.match(expired.body.detail ?? '', /token "short" expired at /);
});

test('bad requests are 400 naming the field, and store nothing; no credentials is 401', async () => {
  const before = await count();
  const cases: [unknown, RegExp][] = [
    [{ name: '' }, /name/],
    [{ name: 'x', scopes: ['registry:steal'] }, /scopes/],
    [{ name: 'x', scopes: [] }, /scopes/],
    [{ name: 'x', expires_in_days: 0 }, /expires_in_days/],
    [{ name: 'x', owner: 'Not An Owner' }, /owner/],
    [{ name: 'x', extra: true }, /extra|body/],
    ['{not json', /JSON object/],
  ];
  for (const [body, field] of cases) {
    const r = await call('POST', '/developer/tokens', admin.token, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.body.detail ?? '', field, JSON.stringify(r.body));
  }
  const anonymous = await call('POST', '/developer/tokens', undefined, { name: 'x' });
  assert.equal(anonymous.status, 401);
  assert.equal(await count(), before);
});

test('scopes never exceed the creator; only administrators act for others or grant admin; own tokens only', async () => {
  const alice = (await call('POST', '/developer/tokens', admin.token, { name: 'a', owner: 'alice' })).body
    .token as string;
  const pullOnly = (
    await call('POST', '/developer/tokens', admin.token, {
      name: 'p',
      owner: 'alice',
      scopes: ['registry:pull', 'tokens:write'],
    })
  ).body;
  const before = await count();
  const refusals: [string, unknown, RegExp][] = [
    [alice, { name: 'x', owner: 'bob' }, /only an administrator may create tokens for another owner/],
    [alice, { name: 'x', scopes: ['admin'] }, /only an administrator may create a token with the admin scope/],
    [pullOnly.token as string, { name: 'x', scopes: ['registry:push'] }, /scopes beyond your own: registry:push/],
  ];
  for (const [token, body, why] of refusals) {
    const r = await call('POST', '/developer/tokens', token, body);
    assert.equal(r.status, 403, JSON.stringify(body));
    assert.match(r.body.detail ?? '', why);
  }
  assert.equal(await count(), before, 'nothing stored');
  // A limited token creates tokens limited the same way by default.
  const child = await call('POST', '/developer/tokens', pullOnly.token as string, { name: 'child' });
  assert.deepEqual(child.body.scopes, ['registry:pull', 'tokens:write']);
  // An administrator's token may carry admin, which makes its owner an administrator on every surface.
  const bobAdmin = await call('POST', '/developer/tokens', admin.token, { name: 'b', owner: 'bob', scopes: ['admin'] });
  assert.equal(bobAdmin.status, 201);
  const everyone = await call('GET', '/developer/tokens', bobAdmin.body.token as string);
  assert.ok(
    (everyone.body.items as { owner: string }[]).some((t) => t.owner === 'alice'),
    'admins list all',
  );
  const mine = await call('GET', '/developer/tokens', alice);
  assert.ok(
    (mine.body.items as { owner: string }[]).every((t) => t.owner === 'alice'),
    'users list their own',
  );
  const foreign = await call('DELETE', `/developer/tokens/${bobAdmin.body.id}`, alice);
  assert.equal(foreign.status, 404, "someone else's token reads as unknown");
  assert.equal((await call('DELETE', `/developer/tokens/${pullOnly.id}`, bobAdmin.body.token as string)).status, 200);
});

test('GraphQL: createToken shows the token once, tokens lists, revokeToken revokes; refusals carry codes', async () => {
  const created = await gql(
    admin.token,
    'mutation($n: String!, $o: String) { createToken(name: $n, owner: $o, scopes: ["jobs:read"], expiresInDays: 7) { token apiToken { id owner scopes expiresAt } } }',
    { n: 'gql', o: 'dave' },
  );
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const { token, apiToken } = created.data!.createToken as {
    token: string;
    apiToken: { id: string; owner: string; scopes: string[] };
  };
  assert.match(token, /^abg_/);
  assert.equal(apiToken.owner, 'dave');
  assert.deepEqual(apiToken.scopes, ['jobs:read']);
  const listed = await gql(token, '{ tokens { id name revokedAt } }');
  assert.deepEqual(listed.data?.tokens, [{ id: apiToken.id, name: 'gql', revokedAt: null }]);
  const forbidden = await gql(token, 'mutation { createToken(name: "x", owner: "erin") { token } }');
  assert.equal(forbidden.errors?.[0]?.extensions.code, 'FORBIDDEN');
  const bad = await gql(admin.token, 'mutation { createToken(name: "x", scopes: ["nope"]) { token } }');
  assert.equal(bad.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  assert.match(bad.errors?.[0]?.message ?? '', /scopes/);
  const unknown = await gql(admin.token, 'mutation { revokeToken(id: "0000000000000000") { id } }');
  assert.equal(unknown.errors?.[0]?.extensions.code, 'NOT_FOUND');
  const revoked = await gql(admin.token, `mutation { revokeToken(id: "${apiToken.id}") { id revokedAt } }`);
  assert.ok((revoked.data!.revokeToken as { revokedAt: string }).revokedAt);
  const refused = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ tokens { id } }' }),
  });
  assert.equal(refused.status, 401);
  assert.match(JSON.stringify(await refused.json()), /revoked/);
});
