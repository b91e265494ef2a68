/**
 * `gpu` on every way to submit: REST (model flow and trainer-image flow), GraphQL, the CLI and the dashboard
 * (Chromium). This machine has no GPU and no worker reports one, so each gets the same clear 422 naming the
 * `gpu` field before anything is queued. Once a live worker registers GPUs in the `workers` table (as workers
 * sharing the database do) — or this node's count is set with AIBOMGEN_WORKER_GPUS — the same requests are
 * accepted and the job carries the request (`gpu`) and its trainer (`framework: keras` → the Keras trainer).
 * The trainer-image flow is checked on a server with a container engine (podman), which that flow needs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { JobResponse } from '../../schema/api.ts';
import { aibomgen, cliHome } from '../cli/run.ts';
import { submit, submitFlags, tabularForm, writeTabularInputs } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
let srv: TestServer;
let work: string;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  delete process.env.AIBOMGEN_WORKER_GPUS;
  // jobConcurrency 0 would not start; 1 with a long queue is fine: accepted jobs are cancelled at once.
  srv = await startTestServer({ runner: 'process' });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-gpu-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(async () => {
  delete process.env.AIBOMGEN_WORKER_GPUS;
  await browser?.close();
  await srv?.close();
  await rm(work, { recursive: true, force: true });
});

const MLP_KERAS = join(import.meta.dirname, '..', '..', 'trainer', 'samples', 'keras', 'mlp.keras');

/** The seed-style tabular form; with `framework: keras`, its model is a real `.keras` (the Keras trainer's input). */
async function form(extra: Record<string, string>): Promise<FormData> {
  const f = await tabularForm(work, { extra });
  if (extra.framework === 'keras') f.set('model', new Blob([await readFile(MLP_KERAS)]), 'mlp.keras');
  return f;
}

const jobCount = async (): Promise<number> =>
  Number(
    (
      await srv.services.db
        .selectFrom('jobs')
        .select((e) => e.fn.countAll().as('n'))
        .executeTakeFirst()
    )?.n,
  );

async function cancel(id: string): Promise<void> {
  await fetch(`${srv.url}/developer/jobs/${id}/cancel`, { method: 'POST' });
}

/** A worker as it registers itself in the shared database (its heartbeat row), with `gpus` GPUs. */
async function registerWorker(id: string, gpus: number, heartbeatAgoMs = 0): Promise<void> {
  const at = new Date(Date.now() - heartbeatAgoMs).toISOString();
  await srv.services.db.deleteFrom('workers').where('id', '=', id).execute();
  await srv.services.db
    .insertInto('workers')
    .values({
      id,
      host: `${id}.example`,
      state: 'running',
      heartbeat_at: at,
      started_at: at,
      running_json: '[]',
      gpus,
      concurrency: 1,
      key_id: null,
      engine: 'embedded',
    })
    .execute();
}

interface GqlJob {
  id: string;
  trainer: string | null;
  gpu: unknown;
}
interface GqlAnswer {
  data?: { submitTrainingJob: GqlJob } | null;
  errors?: { message: string; extensions?: { status?: number } }[];
}

async function graphqlSubmit(gpu: unknown, framework = 'keras'): Promise<GqlAnswer> {
  const seed = await tabularForm(work, { epochs: 1, name: 'gpu-gql' });
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: `mutation($m: File!, $d: File!, $def: File!, $g: JSON) {
        submitTrainingJob(model: $m, dataset: $d, datasetDefinition: $def, framework: "${framework}", gpu: $g,
          params: {epochs: 1}) { id trainer gpu framework } }`,
      variables: { m: null, d: null, def: null, g: gpu },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.m'], 1: ['variables.d'], 2: ['variables.def'] }));
  if (framework === 'keras') form.set('0', new Blob([await readFile(MLP_KERAS)]), 'mlp.keras');
  else form.set('0', seed.get('model') as File, 'model.json');
  form.set('1', seed.get('dataset') as File, 'dataset.csv');
  form.set('2', seed.get('dataset_definition') as File, 'dataset_definition.json');
  const res = await fetch(`${srv.url}/graphql`, { method: 'POST', body: form });
  return (await res.json()) as GqlAnswer;
}

const imageForm = (gpu: string): FormData => {
  const form = new FormData();
  form.set('image', `${srv.hostPort}/trainers/none:1`);
  form.set('command', '["true"]');
  form.set('gpu', gpu);
  return form;
};

async function dashboardSubmit(gpu: string): Promise<{ text: string; invalid: string | null; url: string }> {
  const files = await writeTabularInputs(await mkdtemp(join(work, 'web-')));
  const page = await browser.newPage();
  await page.goto(`${srv.url}/#/jobs`);
  await page.getByText('Submit a training job').click();
  await page.getByLabel('Model', { exact: true }).setInputFiles(MLP_KERAS);
  await page.getByLabel('Dataset', { exact: true }).setInputFiles(files.csv);
  await page.getByLabel('Dataset definition').setInputFiles(files.definition);
  await page.getByLabel('Framework').selectOption('keras');
  await page.locator('#f-gpu').fill(gpu);
  await page.getByRole('button', { name: 'Submit job' }).click();
  await Promise.race([page.getByText(/Submit failed/).waitFor(), page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/)]);
  const out = {
    text: await page.locator('main').innerText(),
    // On success the page moved on to the job: the form (and its field) is gone.
    invalid: (await page.locator('#f-gpu').count()) ? await page.locator('#f-gpu').getAttribute('aria-invalid') : null,
    url: page.url(),
  };
  await page.close();
  return out;
}

test('no worker has a GPU: every surface refuses gpu with a 422 naming the field, and nothing is queued', async () => {
  const before = await jobCount();
  // REST, model flow.
  const rest = await submit(srv.url, await form({ gpu: 'true', framework: 'keras' }));
  assert.equal(rest.status, 422, JSON.stringify(rest.body));
  assert.equal(rest.body.error, 'unsupported_runner');
  assert.match(rest.body.detail ?? '', /asks for a GPU, but no worker of this platform has one/);
  assert.deepEqual((rest.body as { fields?: unknown }).fields, [{ field: 'gpu', message: 'no worker has a GPU' }]);
  // framework keras with a TF.js model: refused up front (the Keras trainer reads only .keras files).
  const tfjsModel = await submit(srv.url, await tabularForm(work, { extra: { framework: 'keras' } }));
  assert.equal(tfjsModel.status, 422);
  assert.match(tfjsModel.body.detail ?? '', /framework keras runs the Keras trainer, which takes a \.keras model/);
  // A malformed request is a 400 naming the field, whatever the capacity.
  const bad = await submit(srv.url, await form({ gpu: 'two please' }));
  assert.equal(bad.status, 400);
  assert.match(bad.body.detail ?? '', /^gpu: expected true, false, a GPU count or device ids/);
  // REST, trainer-image flow: the process runner refuses image jobs outright; the gpu field is still checked first.
  const img = await submit(srv.url, imageForm('-1'), '/developer/submit_job_by_image');
  assert.equal(img.status, 400, JSON.stringify(img.body));
  assert.match(img.body.detail ?? '', /^gpu: /);
  // GraphQL.
  const gql = await graphqlSubmit(true);
  assert.equal(gql.errors?.[0]?.extensions?.status, 422, JSON.stringify(gql));
  assert.match(gql.errors?.[0]?.message ?? '', /no worker of this platform has one/);
  // CLI: exit 2 (input the server rejected), the server's sentence on stderr.
  const files = await writeTabularInputs(await mkdtemp(join(work, 'cli-')));
  const cli = await aibomgen(
    ['--server', srv.url, 'submit', ...submitFlags({ ...files, model: MLP_KERAS }), '--framework', 'keras', '--gpu'],
    {
      env: cliHome().env,
    },
  );
  assert.equal(cli.status, 2, cli.stderr);
  assert.match(cli.stderr, /no worker of this platform has one/);
  const cliBad = await aibomgen(['--server', srv.url, 'submit', ...submitFlags(files), '--gpu', 'x y'], {
    env: cliHome().env,
  });
  assert.equal(cliBad.status, 2);
  assert.match(cliBad.stderr, /--gpu x y: expected/);
  // Dashboard (Chromium): the refusal is shown and the GPU field marked.
  const web = await dashboardSubmit('all');
  assert.match(web.text, /Submit failed: 422/);
  assert.match(web.text, /no worker of this platform has one/);
  assert.equal(web.invalid, 'true');
  // A worker whose heartbeat is stale (gone) does not count either.
  await registerWorker('stale-gpu-worker', 4, 10 * 60_000);
  assert.equal((await submit(srv.url, await form({ gpu: '1' }))).status, 422);
  await srv.services.db.deleteFrom('workers').execute();
  assert.equal(await jobCount(), before, 'no refused job was queued');
});

test('a live worker with GPUs: the same requests are accepted on every surface and the job carries them', async () => {
  await registerWorker('gpu-worker-1', 2);
  const ids: string[] = [];
  try {
    const rest = await submit(srv.url, await form({ gpu: '0,1', framework: 'keras' }));
    assert.equal(rest.status, 202, JSON.stringify(rest.body));
    ids.push(rest.body.id);
    assert.deepEqual(rest.body.gpu, ['0', '1']);
    assert.equal(rest.body.trainer, 'keras', 'framework keras → the Keras trainer');
    const tfjs = await submit(srv.url, await form({ gpu: 'true' }));
    assert.equal(tfjs.status, 202);
    ids.push(tfjs.body.id);
    assert.equal(tfjs.body.gpu, true);
    assert.equal(tfjs.body.trainer, 'tfjs', 'the seed framework (TensorFlow 2.16.1) → the default TF.js trainer');
    // More GPUs than the largest worker has: refused, with the number.
    const three = await submit(srv.url, await form({ gpu: '3' }));
    assert.equal(three.status, 422);
    assert.match(three.body.detail ?? '', /asks for 3 GPUs, but the largest worker of this platform has 2/);
    // The stored job says the same on every read path.
    const status = (await (await fetch(`${srv.url}/developer/job_status/${ids[0]}`)).json()) as JobResponse;
    assert.deepEqual(status.gpu, ['0', '1']);

    const gql = await graphqlSubmit(['GPU-0b1c2d3e'], 'keras');
    assert.ok(gql.data?.submitTrainingJob, JSON.stringify(gql.errors));
    const gqlJob = gql.data.submitTrainingJob;
    ids.push(gqlJob.id);
    assert.deepEqual(gqlJob.gpu, ['GPU-0b1c2d3e']);
    assert.equal(gqlJob.trainer, 'keras');

    const files = await writeTabularInputs(await mkdtemp(join(work, 'cli-ok-')));
    const cli = await aibomgen(
      [
        '--server',
        srv.url,
        'submit',
        ...submitFlags({ ...files, model: MLP_KERAS }),
        '--framework',
        'keras',
        '--gpu',
        '2',
        '--detach',
        '--json',
      ],
      { env: cliHome().env },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const job = JSON.parse(cli.stdout) as JobResponse;
    ids.push(job.id);
    assert.equal(job.gpu, 2);
    assert.equal(job.trainer, 'keras');

    const web = await dashboardSubmit('1');
    assert.match(web.url, /#\/jobs\/[0-9a-f-]{36}$/, web.text);
    const webId = decodeURIComponent(web.url.split('#/jobs/')[1]!);
    ids.push(webId);
    const webJob = (await (await fetch(`${srv.url}/developer/job_status/${webId}`)).json()) as JobResponse;
    assert.equal(webJob.gpu, 1);
    assert.equal(webJob.trainer, 'keras');
  } finally {
    for (const id of ids) await cancel(id);
    await srv.services.db.deleteFrom('workers').execute();
  }
});

test("this node's own GPU count (AIBOMGEN_WORKER_GPUS, else nvidia-smi) serves too", async () => {
  process.env.AIBOMGEN_WORKER_GPUS = '1';
  try {
    const ok = await submit(srv.url, await form({ gpu: 'all' }));
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal(ok.body.gpu, true);
    await cancel(ok.body.id);
    assert.equal((await submit(srv.url, await form({ gpu: '2' }))).status, 422);
  } finally {
    delete process.env.AIBOMGEN_WORKER_GPUS;
  }
});

test('trainer-image flow on a server with a container engine: refused without a GPU worker, accepted with one', async () => {
  const podman = await startPodman();
  const docker = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath });
  try {
    const form = (gpu: string): FormData => {
      const f = new FormData();
      f.set('image', `${docker.hostPort}/trainers/none:1`);
      f.set('command', '["true"]');
      f.set('gpu', gpu);
      return f;
    };
    const refused = await submit(docker.url, form('1'), '/developer/submit_job_by_image');
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.match(refused.body.detail ?? '', /asks for a GPU, but no worker of this platform has one/);
    await docker.services.db
      .insertInto('workers')
      .values({
        id: 'gpu-worker-img',
        host: 'gpu-worker-img.example',
        state: 'running',
        heartbeat_at: new Date().toISOString(),
        started_at: new Date().toISOString(),
        running_json: '[]',
        gpus: 1,
        concurrency: 1,
        key_id: null,
        engine: 'embedded',
      })
      .execute();
    const ok = await submit(docker.url, form('GPU-aa11'), '/developer/submit_job_by_image');
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.gpu, ['GPU-aa11']);
    assert.equal(ok.body.trainer, undefined, 'an image job runs its own trainer');
    await fetch(`${docker.url}/developer/jobs/${ok.body.id}/cancel`, { method: 'POST' });
  } finally {
    await docker.close();
    await podman.stop();
  }
});
