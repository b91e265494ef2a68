/**
 * Verification reads the registry as the caller: with pulls closed to anonymous callers, /verifier/* and GraphQL
 * `verify` tell an anonymous caller nothing of a model (no name confirmed, no digest), while an account verifies it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResponse } from '../../schema/api.ts';
import { tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = { authorization: 'Bearer token-of-alice' };
let srv: TestServer;
let work: string;
let job: JobResponse;

before(async () => {
  srv = await startTestServer({ tokens: 'alice:token-of-alice', anonymousPull: 'false', runner: 'process' });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-verifier-access-'));
  const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
    method: 'POST',
    headers: ALICE,
    body: await tabularForm(work, { epochs: 1, name: 'closed-model', samples: 120 }),
  });
  assert.equal(res.status, 202);
  job = await waitForState(srv.url, ((await res.json()) as JobResponse).job_id, undefined, 240_000, ALICE);
  assert.equal(job.status, 'succeeded', job.reason);
});
after(async () => {
  await srv?.close();
  await rm(work, { recursive: true, force: true });
});

test('an anonymous caller learns nothing of a model whose pulls are closed; an account verifies it', async () => {
  const ref = `${job.publication!.repository}:${job.publication!.tag}`;
  const digest = job.publication!.digest;
  for (const url of [`/verifier/verify/${ref}`, `/verifier/verify/${job.publication!.repository}@${digest}`]) {
    const anon = await fetch(`${srv.url}${url}`);
    assert.equal(anon.status, 401, url);
    assert.ok(!(await anon.text()).includes(digest), `${url}: no digest in the refusal`);
  }
  const artifacts = await fetch(`${srv.url}/verifier/verify_registry_artifacts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ref }),
  });
  assert.equal(artifacts.status, 401);
  assert.ok(!(await artifacts.text()).includes(digest));
  const gql = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'query($r: String!) { verify(ref: $r) { verified digest } }',
      variables: { r: ref },
    }),
  });
  assert.ok(!(await gql.text()).includes(digest), 'GraphQL names no digest to an anonymous caller');

  const ok = await fetch(`${srv.url}/verifier/verify/${ref}`, { headers: ALICE });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { digest: string }).digest, digest);
});
