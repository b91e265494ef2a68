/**
 * OIDC bearer tokens against a real issuer on loopback (test/helpers/oidc-issuer.ts: discovery, a rotating JWKS):
 * a valid token acts as its owner over REST and GraphQL; every way a token can be wrong is refused with 401 and
 * the reason in the body; a key the issuer publishes later is picked up without a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { allowedAlgorithms, checkIssuerUrl, OidcBearerResolver } from '../../server/auth/oidc.ts';
import { tabularForm } from '../helpers/jobs.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let issuer: OidcIssuer;
let srv: TestServer;
let work: string;

before(async () => {
  issuer = await startOidcIssuer({ audience: 'aibomgen' });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-oidc-'));
  srv = await startTestServer({
    runner: 'process',
    auth: 'on',
    oidcIssuer: issuer.url,
    oidcAudience: 'aibomgen',
    oidcAdminGroup: 'platform-admins',
    // Every unknown kid may refetch the JWKS at once (the default waits 30 s between fetches).
    oidcJwksCooldownSeconds: 0,
  });
});
after(async () => {
  await srv?.close();
  await issuer?.close();
  await rm(work, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The bodies these tests read: REST errors, the job list, /auth/config, a GraphQL answer. */
interface Answer {
  error?: string;
  detail?: string;
  items?: { job_id: string }[];
  caller?: { owner: string; admin: boolean } | null;
  data?: { jobs: { edges: { node: { id: string; owner: string } }[] } };
  errors?: unknown[];
}

async function restAs(token: string, path = '/developer/jobs'): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${srv.url}${path}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function graphqlAs(token: string, query: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { ...bearer(token), 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

/** 401 over REST with `reason` in the detail. */
async function refused(token: string, reason: RegExp): Promise<void> {
  const { status, body } = await restAs(token);
  assert.equal(status, 401, JSON.stringify(body));
  assert.equal(body.error, 'unauthorized');
  assert.match(body.detail ?? '', reason);
}

test('a valid token acts as its owner over REST and GraphQL', async () => {
  const token = await issuer.token({ preferred_username: 'alice' });
  const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
    method: 'POST',
    headers: bearer(token),
    body: await tabularForm(work, { samples: 40, epochs: 1, name: 'oidc-bearer' }),
  });
  const job = (await res.json()) as { job_id: string; owner: string };
  assert.equal(res.status, 202, JSON.stringify(job));
  assert.equal(job.owner, 'alice');
  // Nothing here needs the training itself.
  const cancel = await fetch(`${srv.url}/developer/jobs/${job.job_id}/cancel`, {
    method: 'POST',
    headers: bearer(token),
  });
  assert.equal(cancel.status, 200, await cancel.text()); // read: an unread body breaks when the socket closes

  const list = await restAs(token);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.ok(list.body.items?.some((j) => j.job_id === job.job_id));

  const gql = await graphqlAs(token, '{ jobs(first: 50) { edges { node { id owner } } } }');
  assert.equal(gql.status, 200, JSON.stringify(gql.body));
  assert.equal(gql.body.errors, undefined, JSON.stringify(gql.body.errors));
  const mine = gql.body.data?.jobs.edges.find((e) => e.node.id === job.job_id);
  assert.equal(mine?.node.owner, 'alice');

  // The same refusal reaches GraphQL.
  const expired = await issuer.token({ exp: Math.floor(Date.now() / 1000) - 120 });
  const bad = await graphqlAs(expired, '{ jobs { edges { node { id } } } }');
  assert.equal(bad.status, 401, JSON.stringify(bad.body));
  assert.match(JSON.stringify(bad.body), /expired/);
});

test('the owner comes from the owner claim (else sub), the admin flag from the admin group', async () => {
  const config = async (token: string) => (await restAs(token, '/auth/config')).body.caller;
  assert.deepEqual(await config(await issuer.token({ preferred_username: 'bob' })), { owner: 'bob', admin: false });
  assert.deepEqual(
    await config(await issuer.token({ preferred_username: 'root', groups: ['users', 'platform-admins'] })),
    { owner: 'root', admin: true },
  );
  assert.deepEqual(await config(await issuer.token({ preferred_username: undefined, sub: 'c0ffee-42' })), {
    owner: 'c0ffee-42',
    admin: false,
  });
  // An owner becomes a registry namespace: a name that cannot be one is refused, not rewritten.
  await refused(
    await issuer.token({ preferred_username: 'Alice Smith' }),
    /preferred_username claim "Alice Smith" is not usable as an owner name/,
  );
});

test('an expired token is refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  await refused(await issuer.token({ iat: now - 600, exp: now - 120 }), /^expired: the token expired at /);
});

test('a token that is not yet valid is refused (beyond the clock tolerance)', async () => {
  const now = Math.floor(Date.now() / 1000);
  await refused(await issuer.token({ nbf: now + 300 }), /^not yet valid: the token is valid from /);
  // Within 30 s of skew it passes.
  assert.equal((await restAs(await issuer.token({ nbf: now + 5 }))).status, 200);
});

test('a token from another issuer is refused', async () => {
  await refused(
    await issuer.token({ iss: 'https://evil.example' }),
    /^wrong issuer: the token's iss is "https:\/\/evil.example"/,
  );
});

test('a token for another audience is refused', async () => {
  await refused(
    await issuer.token({}, { audience: 'some-other-app' }),
    /^wrong audience: the token is for "some-other-app"/,
  );
});

test('alg none is refused', async () => {
  const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: issuer.currentKid() }));
  const now = Math.floor(Date.now() / 1000);
  const payload = base64url.encode(
    JSON.stringify({
      iss: issuer.url,
      aud: 'aibomgen',
      sub: 'x',
      preferred_username: 'alice',
      iat: now,
      exp: now + 300,
    }),
  );
  await refused(`${header}.${payload}.`, /^alg not allowed: "none"/);
});

test('HS256 signed with the issuer public key as the secret is refused (key confusion)', async () => {
  const pem = new TextEncoder().encode(await issuer.publicKeyPem());
  const forged = await new SignJWT({ preferred_username: 'alice' })
    .setProtectedHeader({ alg: 'HS256', kid: issuer.currentKid(), typ: 'JWT' })
    .setIssuer(issuer.url)
    .setAudience('aibomgen')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(pem);
  await refused(forged, /^alg not allowed: "HS256"/);
});

test('a token signed by a key the issuer does not publish is refused', async () => {
  const { privateKey } = await generateKeyPair('RS256');
  const claims = { preferred_username: 'alice' };
  const sign = (kid: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer.url)
      .setAudience('aibomgen')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  await refused(
    await sign('not-published'),
    /^unknown key: the issuer publishes no RS256 key with kid "not-published"/,
  );
  // The issuer's own kid on someone else's signature.
  await refused(await sign(issuer.currentKid()), /^bad signature/);
});

test('a key the issuer rotates to later is picked up from its JWKS', async () => {
  assert.equal((await restAs(await issuer.token())).status, 200);
  const before = issuer.hits.get('/jwks') ?? 0;
  const kid = await issuer.rotate();
  const rotated = await issuer.token({ preferred_username: 'carol' });
  assert.equal(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid, kid);
  const { status, body } = await restAs(rotated, '/auth/config');
  assert.equal(status, 200);
  assert.deepEqual(body.caller, { owner: 'carol', admin: false });
  assert.equal(issuer.hits.get('/jwks'), before + 1, 'one JWKS fetch for the new kid');
  // And the cached set now answers without asking again.
  assert.equal((await restAs(await issuer.token())).status, 200);
  assert.equal(issuer.hits.get('/jwks'), before + 1);
});

test('configuration that would weaken the check is refused at start', () => {
  assert.throws(() => allowedAlgorithms('RS256,HS256'), /must not name HS256/);
  assert.throws(() => allowedAlgorithms('none'), /must not name none/);
  assert.throws(() => checkIssuerUrl('http://idp.example.com'), /must be an https URL/);
  assert.equal(checkIssuerUrl('http://127.0.0.1:5556/dex').port, '5556');
  const base = { oidcOwnerClaim: 'preferred_username', oidcAlgorithms: 'RS256', oidcJwksCooldownSeconds: 30 };
  assert.throws(
    () => new OidcBearerResolver({ ...base, oidcIssuer: 'https://idp.example.com' }),
    /needs AIBOMGEN_OIDC_AUDIENCE/,
  );
});
