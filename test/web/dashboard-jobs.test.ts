/**
 * The dashboard's main paths in a real browser (Debian's chromium driven by playwright-core) against the real
 * server: submit a job in the form, follow it to its model and the model's lineage graph; cancel a running
 * job; a failing job; sign-in with a token. Pages that need no job: dashboard-pages.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dashboardFixture } from './dashboard-browser.ts';

/** Screenshots land here (repo root, like playwright's own runner); they are not committed. */
const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');

const { server, work, openPage, sampleInputs } = await dashboardFixture();

const execFileAsync = promisify(execFile);
const TOOLS = join(import.meta.dirname, '..', '..', '.tools', 'bin');
const AIBOMGEN_BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin.js');

/**
 * Runs the page's `oras pull` and `cosign verify-attestation` lines as pasted (split on spaces, nothing
 * added) in an empty directory holding only platform.pub as the page's download link serves it.
 */
async function pastedCommandsWork(commands: string[], digest: string): Promise<void> {
  const dir = await mkdtemp(join(work, 'paste-'));
  const pem = await fetch(`${server.url}/web/keys/platform.pub`);
  assert.equal(pem.status, 200);
  await writeFile(join(dir, 'platform.pub'), await pem.text());
  const env = { ...process.env, HOME: dir, PATH: `${TOOLS}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  for (const tool of ['oras', 'cosign', 'aibomgen']) {
    const line = commands.find((c) => c.startsWith(`${tool} `));
    assert.ok(line, `a ${tool} command is shown`);
    assert.ok(line.includes(`@${digest}`), `${tool} names the version by digest`);
    const cwd = join(dir, tool);
    await mkdir(cwd);
    await copyFile(join(dir, 'platform.pub'), join(cwd, 'platform.pub'));
    const [cmd, ...args] = line.split(' ');
    // The package's bin, as `npm link`/`npx` would run it. Asynchronously: the server runs in this process.
    const [file, argv] = cmd === 'aibomgen' ? [process.execPath, [AIBOMGEN_BIN, ...args]] : [cmd!, args];
    await execFileAsync(file, argv, { cwd, env, timeout: 120_000 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        assert.fail(`${line}\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      },
    );
  }
  for (const tool of ['oras', 'aibomgen'])
    assert.ok(existsSync(join(dir, tool, 'web-e2e', 'model', 'model.json')), `${tool} pulled the model files`);
}

test('a job submitted in the form is followed live to its model page, then to its lineage graph', async () => {
  const { csv } = await sampleInputs();
  const { page, problems } = await openPage();
  await page.goto(`${server.url}/#/jobs`);
  await page.getByText('Submit a training job').click();
  const files = await sampleInputs();
  await page.getByLabel('Model', { exact: true }).setInputFiles(files.model);
  await page.getByLabel('Dataset', { exact: true }).setInputFiles(csv);
  await page.getByLabel('Dataset definition').setInputFiles(files.definition);
  await page.getByLabel('Name', { exact: true }).fill('web-e2e');
  await page.getByLabel('Version', { exact: true }).fill('1.0.0');
  await page.getByLabel('Author').fill('dashboard test');
  await page.getByLabel('Epochs').fill('3');
  await page.getByRole('button', { name: 'Submit job' }).click();

  // The job page follows the job over SSE until it is published.
  const streams: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/events')) streams.push(r.url());
  });
  await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
  const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]!);
  const modelLink = page.getByTestId('job-model-link');
  await modelLink.waitFor({ timeout: 180_000 });
  assert.equal((await page.locator('main h1 .badge').innerText()).trim(), 'succeeded');
  assert.ok(
    streams.some((u) => u.endsWith(`/developer/jobs/${jobId}/events`)),
    'the page followed the job event stream',
  );
  const epochs = page.getByRole('table', { name: 'Metrics per epoch' }).locator('tbody tr');
  assert.equal(await epochs.count(), 3, 'one row per epoch');
  assert.match(await page.locator('main').innerText(), /not isolated \(process runner\)/);
  assert.ok(await page.getByRole('link', { name: 'model/weights.bin' }).count(), 'artifacts listed');

  // Job → model: versions, verification with each check, commands, AIBoM sections.
  await modelLink.click();
  await page.waitForURL(/#\/models\/models\/web-e2e@sha256:[0-9a-f]{64}$/);
  const digest = page.url().split('@')[1]!;
  await page.locator('.verdict').waitFor({ timeout: 60_000 });
  assert.match(await page.locator('.verdict').innerText(), /Verified/);
  assert.ok((await page.locator('ul.checks li.pass').count()) >= 5, 'checks listed');
  assert.equal(await page.locator('ul.checks li.fail').count(), 0);
  const text = await page.locator('main').innerText();
  assert.match(text, new RegExp(`oras pull --plain-http -o web-e2e ${server.hostPort}/models/web-e2e@${digest}`));
  assert.match(text, /cosign verify-attestation --key platform\.pub --type cyclonedx/);
  assert.match(text, /dashboard test/, 'AIBoM author shown');
  assert.ok(await page.getByRole('link', { name: jobId }).count(), 'the version links back to its job');
  await pastedCommandsWork(await page.locator('.command pre code').allInnerTexts(), digest);
  await page.getByRole('button', { name: 'Show the full AIBoM' }).click();
  await page.getByRole('heading', { name: /^Components \(\d+\)$/ }).waitFor();
  assert.match(await page.locator('.aibom').innerText(), /CycloneDX 1\.6/);

  // An alias set on the page becomes a route of its own, and can be removed again.
  await page.getByLabel(/^Point an alias at/).fill('prod');
  await page.getByRole('button', { name: 'Set alias' }).click();
  await page.getByRole('list', { name: 'Aliases' }).getByRole('link', { name: 'prod' }).click();
  await page.waitForURL(/#\/models\/models\/web-e2e:prod$/);
  await page.getByText(digest).first().waitFor();
  await page.getByRole('button', { name: 'Remove alias prod' }).click();
  await page.getByRole('list', { name: 'Aliases' }).waitFor({ state: 'detached' });
  await page.goto(`${server.url}/#/models/models/web-e2e@${digest}`);

  // Model → lineage: an SVG graph with the dataset and this model, nodes clickable.
  await page.getByTestId('model-lineage-link').click();
  await page.waitForURL(new RegExp(`#/models/models/web-e2e@${digest}/lineage$`));
  const svg = page.locator('svg.lineage');
  await svg.waitFor();
  const focus = svg.locator(`[data-node-id$="@${digest}"]`);
  assert.equal(await focus.count(), 1, 'the model node');
  assert.match((await focus.getAttribute('class')) ?? '', /focus/);
  const datasets = svg.locator('[data-kind="DATASET"]');
  assert.ok((await datasets.count()) >= 1, 'a dataset node');
  assert.ok(await svg.locator('[data-kind="DATASET"]', { hasText: 'dataset.csv' }).count(), 'the CSV dataset is named');
  assert.ok((await svg.locator('g.edge').count()) >= 2, 'edges drawn');
  assert.match(await svg.innerHTML(), /trained on/);
  await mkdir(RESULTS, { recursive: true });
  const shot = join(RESULTS, 'dashboard-lineage.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok((await stat(shot)).size > 10_000, 'screenshot written');

  // Nodes are links: the job node, reached by keyboard, opens the job; Back returns to the graph.
  await svg.locator('a[data-kind="JOB"]').focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`#/jobs/${jobId}$`));
  await page.goBack();
  await svg.waitFor();

  // A dataset node leads to the models built from it, which includes this one.
  await svg.locator('[data-kind="DATASET"]', { hasText: 'dataset.csv' }).click();
  await page.waitForURL(/#\/artifacts\/sha256:[0-9a-f]{64}$/);
  await page.getByRole('link', { name: 'models/web-e2e' }).first().waitFor();
  // The base model node leads (via its page) to its own lineage, where this model is downstream.
  await page.goto(`${server.url}/#/models/models/web-e2e@${digest}/lineage`);
  await svg.locator('a[data-node-id^="model:base-models/"]').click();
  await page.getByRole('link', { name: 'Its lineage' }).click();
  await page.waitForURL(/#\/models\/base-models\/.+@sha256:[0-9a-f]{64}\/lineage$/);
  const downstream = page.locator(`svg.lineage a[data-node-id$="@${digest}"]`);
  await downstream.waitFor();
  const [baseBox, modelBox] = [
    await page.locator('svg.lineage .node.focus rect').boundingBox(),
    await downstream.locator('rect').boundingBox(),
  ];
  assert.ok(
    baseBox && modelBox && modelBox.x > baseBox.x,
    'the fine-tuned model is drawn downstream (to the right) of its base',
  );

  // The models list has it, and its filter narrows by name.
  await page.goto(`${server.url}/#/models`);
  await page.getByRole('link', { name: 'models/web-e2e' }).waitFor();
  await page.getByLabel('Filter by name').fill('no-such-model');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('No model matches "no-such-model".').waitFor();

  // And the job list shows the job finished with full progress.
  await page.goto(`${server.url}/#/jobs`);
  const row = page.locator(`tr[data-job-id="${jobId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /succeeded[\s\S]*3\/3/);
  await page.getByLabel('State').selectOption('failed');
  await page.getByText('No failed jobs.').waitFor();
  assert.equal(await row.count(), 0, 'filtered out');
  await page.getByLabel('State').selectOption('succeeded');
  await row.waitFor();
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('a running job is cancelled from its page, which follows it to the cancelled state', async () => {
  const form = await tabularForm(work, { epochs: 2000, samples: 2000, name: 'web-cancel' });
  const { status, body } = await submit(server.url, form);
  assert.equal(status, 202, JSON.stringify(body));
  const { page, problems } = await openPage();
  await page.goto(`${server.url}/#/jobs/${body.job_id}`);
  // Cancel once training has visibly started (an epoch row arrived over the stream).
  const epochRows = page.getByRole('table', { name: 'Metrics per epoch' }).locator('tbody tr');
  await epochRows.first().waitFor({ timeout: 120_000 });
  // Live epochs redraw the progress, not the button: keyboard focus stays on it while two more arrive.
  await page.getByRole('button', { name: 'Cancel job' }).focus();
  await epochRows.nth((await epochRows.count()) + 1).waitFor({ timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel job');
  await page.keyboard.press('Enter');
  await page.locator('main h1 .badge', { hasText: 'cancelled' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0, 'no cancel button on a finished job');
  assert.match(await page.locator('main').innerText(), /This job published no model\./);
  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'cancelled');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('a job that fails shows why, publishes nothing, and its log is there', async () => {
  const form = await tabularForm(await mkdtemp(join(work, 'bad-')), { epochs: 2, name: 'web-bad' });
  const csv = (await (form.get('dataset') as File).text()).split('\n');
  csv[5] = csv[5]!.replace(/^[^,]+/, 'abc'); // a float column holding text: the trainer refuses the dataset
  form.set('dataset', new Blob([csv.join('\n')], { type: 'text/csv' }), 'dataset.csv');
  const { status, body } = await submit(server.url, form);
  assert.equal(status, 202, JSON.stringify(body));
  const { page, problems } = await openPage();
  await page.goto(`${server.url}/#/jobs/${body.job_id}`);
  await page.locator('main h1 .badge', { hasText: 'failed' }).waitFor({ timeout: 120_000 });
  await page
    .getByRole('alert')
    .filter({ hasText: /'abc' is not a valid float/ })
    .waitFor();
  await page.getByText('This job published no model.').waitFor();
  assert.equal(await page.getByTestId('job-model-link').count(), 0);
  const logHref = await page.getByRole('link', { name: 'Full log (text)' }).getAttribute('href');
  const log = await page.request.get(`${server.url}${logHref}`);
  assert.equal(log.status(), 200);
  assert.match(await log.text(), /not a valid float/);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('with auth on, the page asks for a token, refuses a wrong one, and sends the right one as a bearer', async () => {
  const secured: TestServer = await startTestServer({ runner: 'process', tokens: 'alice:s3cret-token' });
  try {
    const { page, problems } = await openPage();
    const files = await sampleInputs();
    const fillForm = async (): Promise<void> => {
      await page.getByText('Submit a training job').click();
      await page.getByLabel('Model', { exact: true }).setInputFiles(files.model);
      await page.getByLabel('Dataset', { exact: true }).setInputFiles(files.csv);
      await page.getByLabel('Dataset definition').setInputFiles(files.definition);
      await page.getByLabel('Name', { exact: true }).fill('web-auth');
      await page.getByLabel('Epochs').fill('1');
      await page.getByRole('button', { name: 'Submit job' }).click();
    };
    await page.goto(`${secured.url}/#/jobs`);
    await page.waitForURL(/#\/login\?next=/);
    await page.getByLabel('API token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The server refused this token (401).').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('aibomgen.token')), null);

    const authHeaders: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/developer/')) authHeaders.push(r.headers().authorization ?? '');
    });
    await page.getByLabel('API token').fill('s3cret-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/jobs$/);
    assert.equal(await page.evaluate(() => localStorage.getItem('aibomgen.token')), 's3cret-token');
    await fillForm();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    await page.locator('main h1 .badge', { hasText: 'succeeded' }).waitFor({ timeout: 120_000 });
    assert.match(await page.locator('main').innerText(), /Owner\s+alice/);
    assert.ok(authHeaders.length > 2 && authHeaders.every((h) => h === 'Bearer s3cret-token'), authHeaders.join(', '));

    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.equal(await page.evaluate(() => localStorage.getItem('aibomgen.token')), null);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
  } finally {
    await secured.close();
  }
});
