/**
 * The audit log on a real server (auth on, alice an administrator): a scripted sequence of mutating calls,
 * refusals and plain reads over REST, /v2/, /token and GraphQL; every mutating call and every refusal appears
 * exactly once (matched by its X-Request-Id) with its actor, action, target, status and result, and no read
 * appears at all — read back through GraphQL `auditLog` as alice and through `aibomgen audit`. Non-admins get
 * FORBIDDEN (itself audited); filters and paging work; a normal shutdown loses no entry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../server/app.ts';
import { compose } from '../../server/compose.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/db/connect.ts';
import pino from 'pino';
import { aibomgen, cliHome, json } from '../cli/run.ts';
import { tabularForm } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Who = 'alice' | 'bob' | 'carol' | 'anonymous';
const TOKENS: Record<Who, string | undefined> = {
  alice: 'alice-token',
  bob: 'bob-token',
  carol: 'carol-token',
  anonymous: undefined,
};
interface Entry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  status: number;
  result: string;
  requestId: string | null;
  detail: string | null;
}
interface Expected {
  rid: string;
  actor: string;
  action: string;
  status: number;
  result: 'ok' | 'refused' | 'error';
  target?: string;
  detail?: RegExp;
}

let srv: TestServer;
let work: string;
const expected: Expected[] = [];
const quiet: { rid: string; what: string }[] = [];
let jobId = '';

async function call(
  who: Who,
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<{ status: number; rid: string; body: unknown }> {
  const token = TOKENS[who];
  // The client's own request id (hono/request-id keeps a valid one): the entry names it, whatever answered.
  const rid = randomUUID();
  const res = await fetch(`${srv.url}${path}`, {
    method,
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: { 'x-request-id': rid, ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, rid, body };
}

async function gql(who: Who, query: string, variables: Record<string, unknown> = {}) {
  const r = await call(who, 'POST', '/graphql', {
    body: JSON.stringify({ query, variables }),
    headers: { 'content-type': 'application/json' },
  });
  return {
    ...r,
    body: r.body as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; extensions?: { code?: string } }[];
    },
  };
}

const digestOf = (b: string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ENTRY_FIELDS = 'id at actor action target status result requestId detail';

async function auditLog(args = 'limit: 500'): Promise<Entry[]> {
  const r = await gql('alice', `{ auditLog(${args}) { ${ENTRY_FIELDS} } }`);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return (r.body.data as { auditLog: Entry[] }).auditLog;
}

before(async () => {
  srv = await startTestServer({
    tokens: 'alice:alice-token,bob:bob-token,carol:carol-token',
    admins: 'alice',
    role: 'api',
    rateVerificationsPerMinute: 2,
  });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-audit-'));
  const expect = (r: { status: number; rid: string }, e: Omit<Expected, 'rid' | 'status'>, status: number) => {
    assert.equal(r.status, status, `${e.action} answered ${r.status}`);
    expected.push({ ...e, rid: r.rid, status });
  };
  const read = (r: { status: number; rid: string }, what: string, status: number) => {
    assert.equal(r.status, status, what);
    quiet.push({ rid: r.rid, what });
  };
  const SUBMIT = 'POST /developer/submit_job_by_model_and_data';

  // REST: a submission, reads, another owner's job (hidden: a refusal), a missing job (not one), no token.
  const sub = await call('bob', 'POST', '/developer/submit_job_by_model_and_data', {
    body: await tabularForm(work, { samples: 40, name: 'audited' }),
  });
  jobId = (sub.body as { job_id: string }).job_id;
  expect(sub, { actor: 'bob', action: SUBMIT, result: 'ok', target: jobId }, 202);
  read(await call('bob', 'GET', `/developer/job_status/${jobId}`), 'own job status', 200);
  expect(
    await call('carol', 'GET', `/developer/job_status/${jobId}`),
    {
      actor: 'carol',
      action: 'GET /developer/job_status/<id>',
      result: 'refused',
      target: jobId,
      detail: /another owner/,
    },
    404,
  );
  read(await call('carol', 'GET', `/developer/job_status/${randomUUID()}`), 'a job that does not exist', 404);
  expect(
    await call('anonymous', 'POST', '/developer/submit_job_by_model_and_data', { body: new FormData() }),
    {
      actor: 'anonymous',
      action: SUBMIT,
      result: 'refused',
      detail: /requires a token.*from 127\.0\.0\.1|from 127\.0\.0\.1/,
    },
    401,
  );

  // /v2/: a blob, a manifest, a pull (not audited), a push into another owner's namespace, a delete.
  const blob = '{}';
  expect(
    await call('bob', 'POST', `/v2/bob/net/blobs/uploads/?digest=${digestOf(blob)}`, {
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    }),
    { actor: 'bob', action: 'POST /v2/<repo>/blobs/uploads/', result: 'ok', target: `bob/net@${digestOf(blob)}` },
    201,
  );
  const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(blob), size: 2 };
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.example+type',
    config: empty,
    layers: [empty],
  });
  const put = (repo: string) =>
    call('bob', 'PUT', `/v2/${repo}/manifests/v1`, {
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
  const ACTION_PUT = 'PUT /v2/<repo>/manifests/<ref>';
  expect(await put('bob/net'), { actor: 'bob', action: ACTION_PUT, result: 'ok', target: 'bob/net:v1' }, 201);
  read(
    await call('bob', 'GET', '/v2/bob/net/manifests/v1', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    }),
    'a pull',
    200,
  );
  expect(await put('alice/net'), { actor: 'bob', action: ACTION_PUT, result: 'refused', target: 'alice/net:v1' }, 403);

  // GraphQL: a mutation, another owner's job (hidden), a non-admin asking for the audit log, a plain query.
  const cancel = `mutation($id: ID!) { cancelJob(id: $id) { id state } }`;
  const own = await gql('bob', cancel, { id: jobId });
  assert.equal((own.body.data?.cancelJob as { state?: string } | undefined)?.state, 'CANCELLED');
  expect(own, { actor: 'bob', action: 'graphql cancelJob', result: 'ok', target: jobId }, 200);
  const hidden = await gql('carol', cancel, { id: jobId });
  assert.equal(hidden.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  expect(
    hidden,
    { actor: 'carol', action: 'graphql cancelJob', result: 'refused', target: jobId, detail: /another owner/ },
    200,
  );
  const forbidden = await gql('bob', `{ auditLog { id } }`);
  assert.equal(forbidden.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', 'a non-admin gets FORBIDDEN');
  assert.equal(forbidden.body.data, null);
  expect(
    forbidden,
    { actor: 'bob', action: 'graphql auditLog', result: 'refused', detail: /administrators only/ },
    200,
  );
  read(await gql('bob', '{ jobs(first: 5) { edges { node { id } } } }'), 'a GraphQL query', 200);

  // Verifications over the limit (2 a minute): the third is a refusal, the first two are reads.
  for (let i = 0; i < 2; i++) {
    const v = await call('bob', 'GET', '/verifier/verify/bob/net:v1');
    assert.ok(v.status < 500 && v.status !== 429, `verification ${i} answered ${v.status}`);
    quiet.push({ rid: v.rid, what: `verification ${i}` });
  }
  expect(
    await call('bob', 'GET', '/verifier/verify/bob/net:v1'),
    {
      actor: 'bob',
      action: 'GET /verifier/verify/<ref>',
      result: 'refused',
      target: 'bob/net:v1',
      detail: /AIBOMGEN_RATE_VERIFICATIONS_PER_MINUTE/,
    },
    429,
  );

  // /token issues a credential: audited even though it is a GET.
  const basic = { authorization: `Basic ${Buffer.from('bob:bob-token').toString('base64')}` };
  expect(
    await call('anonymous', 'GET', '/token?service=aibomgen&scope=repository:bob/net:pull,push', { headers: basic }),
    { actor: 'bob', action: 'GET /token', result: 'ok', target: 'repository:bob/net:pull,push' },
    200,
  );
  // A cross-site POST is refused by the edge guard before identification: audited, actor anonymous.
  expect(
    await call('bob', 'POST', '/developer/jobs/x/cancel', { headers: { origin: 'http://evil.example' } }),
    { actor: 'anonymous', action: 'POST /developer/jobs/x/cancel', result: 'refused' },
    403,
  );
  expect(
    await call('bob', 'DELETE', `/v2/bob/net/manifests/v1`),
    { actor: 'bob', action: 'DELETE /v2/<repo>/manifests/<ref>', result: 'ok', target: 'bob/net:v1' },
    202,
  );
});
after(async () => {
  await srv?.close();
  await rm(work, { recursive: true, force: true });
});

function assertMatches(entries: Entry[]): void {
  for (const e of expected) {
    const found = entries.filter((x) => x.requestId === e.rid);
    assert.equal(
      found.length,
      1,
      `${e.action} by ${e.actor} (${e.status}) recorded exactly once: ${JSON.stringify(found)}`,
    );
    const f = found[0]!;
    assert.deepEqual(
      { actor: f.actor, action: f.action, status: f.status, result: f.result },
      { actor: e.actor, action: e.action, status: e.status, result: e.result },
      JSON.stringify(f),
    );
    if (e.target) assert.equal(f.target, e.target, e.action);
    if (e.detail) assert.match(f.detail ?? '', e.detail, e.action);
  }
  for (const q of quiet) assert.ok(!entries.some((x) => x.requestId === q.rid), `${q.what} is not audited`);
  // Nothing else: the administrator's own reads of the log are reads.
  assert.equal(
    entries.length,
    expected.length,
    JSON.stringify(entries.map((x) => `${x.actor} ${x.action} ${x.status}`)),
  );
}

test('every mutating call and refusal appears exactly once in auditLog (GraphQL, as an administrator)', async () => {
  assertMatches(await auditLog());
});

test('aibomgen audit shows the same entries; as a non-admin it fails with FORBIDDEN, which is audited too', async () => {
  const { env } = cliHome();
  const asAlice = await aibomgen(['audit', '--json', '--limit', '500'], {
    env: { ...env, AIBOMGEN_SERVER: srv.url, AIBOMGEN_TOKEN: 'alice-token' },
  });
  assert.equal(asAlice.status, 0, asAlice.stderr);
  assertMatches(json<Entry[]>(asAlice));
  const table = await aibomgen(['audit', '--actor', 'carol'], {
    env: { ...env, AIBOMGEN_SERVER: srv.url, AIBOMGEN_TOKEN: 'alice-token' },
  });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^AT\s+ACTOR\s+RESULT\s+ACTION\s+TARGET\s+DETAIL/);
  assert.equal(table.stdout.trim().split('\n').length, 1 + expected.filter((e) => e.actor === 'carol').length);

  const asBob = await aibomgen(['audit'], { env: { ...env, AIBOMGEN_SERVER: srv.url, AIBOMGEN_TOKEN: 'bob-token' } });
  assert.equal(asBob.status, 1);
  assert.match(asBob.stderr, /administrators only/);
  const refusals = await auditLog('actor: "bob", action: "auditLog"');
  assert.equal(refusals.length, 2, 'the GraphQL and the CLI refusal');
  assert.ok(refusals.every((r) => r.result === 'refused'));
});

test('filters and paging: by actor, by action text, newest first, `after` continues without overlap', async () => {
  const all = await auditLog();
  const carol = await auditLog('actor: "carol"');
  assert.deepEqual(
    carol.map((e) => e.id),
    all.filter((e) => e.actor === 'carol').map((e) => e.id),
  );
  const registry = await auditLog('action: "/v2/"');
  assert.ok(registry.length >= 4 && registry.every((e) => e.action.includes('/v2/')));
  const first = await auditLog('limit: 3');
  const next = await auditLog(`limit: 3, after: "${first.at(-1)!.id}"`);
  assert.deepEqual(
    [...first, ...next].map((e) => e.id),
    all.slice(0, 6).map((e) => e.id),
  );
  assert.ok(
    all.every((e, i) => i === 0 || all[i - 1]!.id > e.id),
    'newest first',
  );
  const bad = await gql('alice', '{ auditLog(limit: 0) { id } }');
  assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});

test('a normal shutdown loses no entry: what was queued is written on close', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aibomgen-audit-close-'));
  try {
    const config = loadConfig({}, { dataDir, tokens: 'alice:alice-token', role: 'api' });
    const platform = await compose(config, pino({ level: 'silent' }));
    const app = createApp(platform);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => app.request('/developer/jobs/x/cancel', { method: 'POST' })),
    );
    assert.ok(answers.every((r) => r.status === 401));
    await platform.close(); // at once: within the batching delay
    const db = await openDatabase(config.databaseUrl);
    try {
      const rows = await db.selectFrom('audit_log').selectAll().execute();
      assert.equal(rows.length, 20);
      assert.ok(rows.every((r) => r.actor === 'anonymous' && r.result === 'refused' && r.status === 401));
    } finally {
      await db.destroy();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
