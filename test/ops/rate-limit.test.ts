/**
 * Fair use per identity on a real server (auth on, API role: jobs are queued, nothing trains):
 * - a burst of 100 job submissions from one owner: the first `rateSubmitsPerMinute` are queued, every later one
 *   is a 429 with Retry-After and the ApiError body naming the limit, and stores nothing; another owner is
 *   unaffected; GraphQL `submitTrainingJob` shares the same count and answers the GraphQL shape (RATE_LIMITED);
 * - verifications (REST /verifier/* and GraphQL verify, each aliased field counting), /token and /auth/login have
 *   their own limits; anonymous callers are counted by address;
 * - the per-owner cap on queued jobs: a submission beyond it is a 429 naming the cap before its upload is read
 *   (no job, no job directory), also when submissions arrive together.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tabularForm, writeTabularInputs } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = { authorization: 'Bearer alice-token' };
const BOB = { authorization: 'Bearer bob-token' };
const CAROL = { authorization: 'Bearer carol-token' };
const SUBMIT = '/developer/submit_job_by_model_and_data';

let srv: TestServer;
let work: string;
let form: FormData;

before(async () => {
  srv = await startTestServer({
    tokens: 'alice:alice-token,bob:bob-token,carol:carol-token',
    role: 'api',
    rateSubmitsPerMinute: 5,
    rateVerificationsPerMinute: 3,
    rateTokensPerMinute: 2,
    rateLoginsPerMinute: 2,
    maxQueuedPerOwner: 8,
  });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-rate-'));
  form = await tabularForm(work, { samples: 40, name: 'burst' });
});
after(async () => {
  await srv?.close();
  await rm(work, { recursive: true, force: true });
});

async function jobsOf(owner: string): Promise<number> {
  const r = await srv.services.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner', '=', owner)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

const jobDirs = async (): Promise<number> => (await readdir(join(srv.dataDir, 'jobs')).catch(() => [])).length;

/** The GraphQL multipart request (graphql-multipart-request-spec) submitting the tabular job. */
async function graphqlSubmit(headers: Record<string, string>, url = srv.url): Promise<Response> {
  const files = await writeTabularInputs(work, 40);
  const body = new FormData();
  body.set(
    'operations',
    JSON.stringify({
      query: `mutation($m: File!, $d: File!, $def: File!) { submitTrainingJob(model: $m, dataset: $d, datasetDefinition: $def,
        framework: "TensorFlow 2.16.1", metadata: {model_name: "gql-burst"}, params: {epochs: 1}) { id } }`,
      variables: { m: null, d: null, def: null },
    }),
  );
  body.set('map', JSON.stringify({ 0: ['variables.m'], 1: ['variables.d'], 2: ['variables.def'] }));
  body.set('0', new Blob([await readFile(files.model)]), 'model.json');
  body.set('1', new Blob([await readFile(files.csv)]), 'dataset.csv');
  body.set('2', new Blob([await readFile(files.definition)]), 'dataset_definition.json');
  return fetch(`${url}/graphql`, { method: 'POST', headers, body });
}

test('a burst of 100 submissions: the first 5 are queued, then 429 + Retry-After naming the limit; bob is unaffected', async () => {
  const dirsBefore = await jobDirs();
  const answers = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const res = await fetch(`${srv.url}${SUBMIT}`, { method: 'POST', body: form, headers: ALICE });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as Record<string, string>,
      };
    }),
  );
  const accepted = answers.filter((a) => a.status === 202);
  const limited = answers.filter((a) => a.status === 429);
  assert.equal(accepted.length, 5, JSON.stringify(answers.filter((a) => a.status !== 429).map((a) => a.body)));
  assert.equal(limited.length, 95);
  for (const a of limited) {
    assert.equal(a.body.error, 'rate_limited');
    assert.match(
      a.body.detail!,
      /alice made more than 5 job submissions in a minute \(AIBOMGEN_RATE_SUBMITS_PER_MINUTE\)/,
    );
    const seconds = Number(a.retryAfter);
    assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After: ${a.retryAfter}`);
  }
  assert.equal(await jobsOf('alice'), 5, 'the refused submissions stored no job');
  assert.equal((await jobDirs()) - dirsBefore, 5, 'and no job directory');

  const bob = await fetch(`${srv.url}${SUBMIT}`, { method: 'POST', body: form, headers: BOB });
  assert.equal(bob.status, 202, await bob.text());
  assert.equal(await jobsOf('bob'), 1);
});

test('GraphQL submitTrainingJob shares the count: RATE_LIMITED in the GraphQL error shape, with Retry-After', async () => {
  const res = await graphqlSubmit(ALICE);
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers.get('retry-after')) >= 1);
  const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
  assert.equal(body.errors[0]?.extensions.code, 'RATE_LIMITED');
  assert.match(body.errors[0]!.message, /AIBOMGEN_RATE_SUBMITS_PER_MINUTE/);
  assert.equal(await jobsOf('alice'), 5);
  // Bob has 4 submissions left: GraphQL counts for him as REST does.
  const ok = await graphqlSubmit(BOB);
  assert.equal(ok.status, 200);
  const data = (await ok.json()) as { data?: { submitTrainingJob: { id: string } }; errors?: unknown };
  assert.ok(data.data?.submitTrainingJob.id, JSON.stringify(data));
});

test('verifications: REST and GraphQL verify share a limit, each aliased verify counts; other owners unaffected', async () => {
  const twice = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { ...CAROL, 'content-type': 'application/json' },
    body: JSON.stringify({
      query: '{ a: verify(ref: "models/none:1") { verified } b: verify(ref: "models/none:2") { verified } }',
    }),
  });
  assert.equal(twice.status, 200, await twice.clone().text());
  await twice.body?.cancel();
  const third = await fetch(`${srv.url}/verifier/verify/models/none:3`, { headers: CAROL });
  assert.notEqual(third.status, 429, 'the third verification is within the limit of 3');
  await third.body?.cancel();
  const fourth = await fetch(`${srv.url}/verifier/verify/models/none:4`, { headers: CAROL });
  assert.equal(fourth.status, 429);
  assert.ok(fourth.headers.get('retry-after'));
  const body = (await fourth.json()) as { error: string; detail: string };
  assert.equal(body.error, 'rate_limited');
  assert.match(
    body.detail,
    /carol made more than 3 verifications in a minute \(AIBOMGEN_RATE_VERIFICATIONS_PER_MINUTE\)/,
  );
  const other = await fetch(`${srv.url}/verifier/verify/models/none:5`, { headers: BOB });
  assert.notEqual(other.status, 429);
  await other.body?.cancel();
});

test('registry tokens: limited per identity, anonymous callers by address', async () => {
  const token = (headers: Record<string, string> = {}) =>
    fetch(`${srv.url}/token?service=aibomgen&scope=repository:alice/x:pull`, { headers });
  for (let i = 0; i < 2; i++) assert.notEqual((await token()).status, 429);
  const anon = await token();
  assert.equal(anon.status, 429);
  assert.match(
    ((await anon.json()) as { detail: string }).detail,
    /anonymous client 127\.0\.0\.1 made more than 2 registry token requests/,
  );
  const basic = { authorization: `Basic ${Buffer.from('alice:alice-token').toString('base64')}` };
  const alice = await token(basic);
  assert.equal(alice.status, 200, await alice.clone().text());
});

test('dashboard sign-ins: GET /auth/login is limited per client address (each stores a pending login)', async () => {
  const login = () => fetch(`${srv.url}/auth/login`, { redirect: 'manual' });
  for (let i = 0; i < 2; i++) assert.notEqual((await login()).status, 429);
  const over = await login();
  assert.equal(over.status, 429);
  assert.ok(over.headers.get('retry-after'));
  assert.match(
    ((await over.json()) as { detail: string }).detail,
    /more than 2 sign-ins .*AIBOMGEN_RATE_LOGINS_PER_MINUTE/,
  );
});

test('queued-jobs cap: beyond it a 429 naming the cap before the upload is read; concurrent submissions cannot overshoot', async () => {
  const capped = await startTestServer({
    tokens: 'dave:dave-token,erin:erin-token',
    role: 'api',
    maxQueuedPerOwner: 3,
  });
  try {
    const send = (token: string) =>
      fetch(`${capped.url}${SUBMIT}`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    // Six at once from one owner: exactly three take the three places.
    const burst = await Promise.all(Array.from({ length: 6 }, () => send('dave-token')));
    assert.deepEqual(burst.map((r) => r.status).sort(), [202, 202, 202, 429, 429, 429]);
    const refused = burst.find((r) => r.status === 429)!;
    assert.equal(refused.headers.get('retry-after'), '60');
    const body = (await refused.json()) as { error: string; detail: string };
    assert.equal(body.error, 'too_many_queued_jobs');
    assert.match(body.detail, /at most 3 may wait at once \(AIBOMGEN_MAX_QUEUED_PER_OWNER\)/);
    const dirs = await readdir(join(capped.dataDir, 'jobs'));
    assert.equal(dirs.length, 3, 'no job directory for a refused submission');
    const rows = await capped.services.db.selectFrom('jobs').select(['owner', 'state']).execute();
    assert.deepEqual(
      rows.map((r) => `${r.owner}:${r.state}`),
      ['dave:queued', 'dave:queued', 'dave:queued'],
    );
    const viaGraphql = await graphqlSubmit({ authorization: 'Bearer dave-token' }, capped.url);
    assert.equal(viaGraphql.status, 429);
    const gqlBody = (await viaGraphql.json()) as { errors: { message: string; extensions: { code: string } }[] };
    assert.equal(gqlBody.errors[0]?.extensions.code, 'TOO_MANY_QUEUED_JOBS');
    assert.match(gqlBody.errors[0]!.message, /AIBOMGEN_MAX_QUEUED_PER_OWNER/);
    assert.equal((await readdir(join(capped.dataDir, 'jobs'))).length, 3);
    assert.equal((await send('erin-token')).status, 202, 'another owner has places of their own');
  } finally {
    await capped.close();
  }
});
