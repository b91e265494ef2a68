/**
 * Real jobs (process runner), driven through GraphQL: submitTrainingJob (multipart through yoga → REST),
 * a fine-tune chain dataset → A → B → C where each job's base model is the previous job's `.keras` output,
 * lineage/impact over it, and jobProgress over SSE delivering every event of a running job in order.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tabularForm } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { gqlOk } from '../lineage/oci.ts';

let srv: TestServer;
let work: string;
const EPOCHS = 3;

interface Job {
  id: string;
  state: string;
  reason: string | null;
  modelVersion: { id: string; digest: string; ref: string } | null;
}
const JOB_FIELDS = 'id state reason modelVersion { id digest ref }';

before(async () => {
  srv = await startTestServer({ runner: 'process' });
  work = await mkdtemp(join(tmpdir(), 'gql-jobs-'));
});
after(async () => {
  await srv.close();
  await rm(work, { recursive: true, force: true });
});

/** A GraphQL multipart request (graphql-multipart-request-spec) carrying the seed's three files. */
async function submitViaGraphql(name: string, model: Blob, modelName: string): Promise<Job> {
  const seed = await tabularForm(work, { epochs: EPOCHS, name });
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: `mutation($m: File!, $d: File!, $def: File!, $md: JSON, $p: JSON) {
      submitTrainingJob(model: $m, dataset: $d, datasetDefinition: $def, framework: "TensorFlow 2.16.1", metadata: $md, params: $p) { ${JOB_FIELDS} } }`,
      variables: {
        m: null,
        d: null,
        def: null,
        md: { model_name: name, model_version: '1.0.0', author: 'test', license_name: 'Apache-2.0' },
        p: { epochs: EPOCHS, batch_size: 32 },
      },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.m'], 1: ['variables.d'], 2: ['variables.def'] }));
  form.set('0', model, modelName);
  form.set('1', seed.get('dataset') as File, 'dataset.csv');
  form.set('2', seed.get('dataset_definition') as File, 'dataset_definition.json');
  const res = await fetch(`${srv.url}/graphql`, { method: 'POST', body: form });
  const body = (await res.json()) as { data?: { submitTrainingJob: Job }; errors?: unknown[] };
  assert.ok(body.data?.submitTrainingJob, JSON.stringify(body.errors));
  return body.data.submitTrainingJob;
}

async function waitDone(id: string): Promise<Job> {
  for (let i = 0; i < 2400; i++) {
    const { job } = await gqlOk<{ job: Job }>(srv.url, `query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id });
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`job ${id} did not finish`);
}

async function kerasOutput(jobId: string): Promise<Blob> {
  const res = await fetch(`${srv.url}/developer/job_artifacts/${jobId}/model/model.keras`);
  assert.equal(res.status, 200, `model.keras of ${jobId}`);
  return new Blob([await res.arrayBuffer()]);
}

/** Reads an SSE stream to its end: one JSON `data:` payload per event. */
async function sse(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) =>
      block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n'),
    )
    .filter((d) => d)
    .map((d) => JSON.parse(d) as unknown);
}

type EventView = { seq: number; type: string; state: string | null; epoch: number | null };
let chain: { a: Job; b: Job; c: Job; progress: EventView[] };

test('a fine-tune chain made by real jobs, submitted through GraphQL', { timeout: 600_000 }, async () => {
  const a = await waitDone(
    (await submitViaGraphql('gql-chain-a', new Blob([await readFile('trainer/samples/keras/mlp.keras')]), 'mlp.keras'))
      .id,
  );
  assert.equal(a.state, 'SUCCEEDED', a.reason ?? '');
  const b = await waitDone((await submitViaGraphql('gql-chain-b', await kerasOutput(a.id), 'model.keras')).id);
  assert.equal(b.state, 'SUCCEEDED', b.reason ?? '');
  // C is followed live: the subscription starts while the job is queued or running.
  const submitted = await submitViaGraphql('gql-chain-c', await kerasOutput(b.id), 'model.keras');
  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({
      query: 'subscription($id: ID!) { jobProgress(id: $id) { jobId seq type state epoch logs at } }',
      variables: { id: submitted.id },
    }),
  });
  assert.equal(res.status, 200);
  const events = (await sse(res)) as { data?: { jobProgress: EventView } }[];
  const progress = events.filter((e) => e.data).map((e) => e.data!.jobProgress);
  const c = await waitDone(submitted.id);
  assert.equal(c.state, 'SUCCEEDED', c.reason ?? '');
  chain = { a, b, c, progress };
});

test('jobProgress delivers every event of the running job in order, as the REST SSE does, and ends after the terminal state', async () => {
  assert.ok(chain, 'the chain test ran');
  const { progress, c } = chain;
  assert.deepEqual(
    progress.map((e) => e.seq),
    progress.map((_, i) => progress[0]!.seq + i),
    'no gaps, no reordering',
  );
  const epochs = progress.filter((e) => e.type === 'epoch').map((e) => e.epoch);
  assert.equal(epochs.length, EPOCHS, `every epoch event: ${JSON.stringify(epochs)}`);
  assert.deepEqual(
    epochs,
    [...epochs].sort((x, y) => x! - y!),
  );
  assert.deepEqual(progress.at(-1), { ...progress.at(-1)!, type: 'state', state: 'SUCCEEDED' });
  // The REST stream of the same job, replayed after the fact, has the same events.
  const rest = await fetch(`${srv.url}/developer/jobs/${c.id}/events`, { headers: { accept: 'text/event-stream' } });
  const restEvents = (await sse(rest)) as { seq: number; type: string }[];
  assert.deepEqual(
    progress.map((e) => `${e.seq}:${e.type}`),
    restEvents.map((e) => `${e.seq}:${e.type}`),
  );
});

test('lineage(C, UPSTREAM) returns C → B → A with their jobs and the dataset; impact(dataset) returns A, B, C', async () => {
  assert.ok(chain, 'the chain test ran');
  const { a, b, c } = chain;
  await srv.services.lineage.idle();
  const g = await gqlOk<{
    lineage: {
      nodes: { id: string; kind: string; label: string }[];
      edges: { from: string; to: string; kind: string }[];
    };
  }>(
    srv.url,
    'query($r: String!) { lineage(ref: $r, direction: UPSTREAM, depth: 20) { nodes { id kind label } edges { from to kind } } }',
    { r: c.modelVersion!.ref },
  );
  const edges = g.lineage.edges.map((e) => `${e.from} ${e.kind} ${e.to}`);
  const [A, B, C] = [a, b, c].map((j) => j.modelVersion!.id) as [string, string, string];
  for (const e of [
    `${C} FINE_TUNED_FROM ${B}`,
    `${B} FINE_TUNED_FROM ${A}`,
    `${C} TRAINED_BY job:${c.id}`,
    `job:${b.id} PRODUCED ${B}`,
    `${A} TRAINED_BY job:${a.id}`,
  ]) {
    assert.ok(edges.includes(e), `${e} in\n${edges.join('\n')}`);
  }
  const datasets = g.lineage.nodes.filter((n) => n.kind === 'DATASET').map((n) => n.id);
  assert.ok(
    edges.some((e) => e.startsWith(`${A} TRAINED_ON dataset:`)),
    'A trained on the dataset',
  );
  // The one dataset the three jobs trained on; their dataset definition and params are inputs (in the AIBoM),
  // not datasets.
  const labels = g.lineage.nodes.filter((n) => n.kind === 'DATASET').map((n) => n.label);
  assert.equal(labels.length, 1, `one dataset: ${labels.join(', ')}`);
  assert.match(labels[0]!, /^datasets\/dataset\.csv@sha256:/);
  const datasetDigest = datasets.find((d) => edges.includes(`${A} TRAINED_ON ${d}`))!.slice('dataset:'.length);
  const impact = await gqlOk<{ impact: { id: string }[] }>(
    srv.url,
    'query($d: String!) { impact(digest: $d) { id } }',
    { d: datasetDigest },
  );
  for (const v of [A, B, C])
    assert.ok(
      impact.impact.some((x) => x.id === v),
      `${v} in impact(dataset)`,
    );
  const m = await gqlOk<{ modelVersion: { job: { id: string; state: string; isolated: boolean } } }>(
    srv.url,
    'query($r: String) { modelVersion(ref: $r) { job { id state isolated } } }',
    { r: c.modelVersion!.ref },
  );
  assert.deepEqual(m.modelVersion.job, { id: c.id, state: 'SUCCEEDED', isolated: false });
});
