/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against the real server:
 * static serving, every route without script errors, the lineage layout, the colour scheme, sign-in with a
 * token, and the main path — submit a job in the form, follow it to its model and the model's lineage graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join, sep } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { submit, tabularForm, waitForState, writeTabularInputs } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
/** Screenshots land here (repo root, like playwright's own runner); they are not committed. */
const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');
const STATIC = join(import.meta.dirname, '..', '..', 'server', 'web', 'static');

const server = await startTestServer({ runner: 'process' });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-web-'));
let browser: Browser | undefined;
test.before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
test.after(async () => {
  await browser?.close();
  await server.close();
  await rm(work, { recursive: true, force: true });
});

/**
 * A fresh page that records what would be a bug: uncaught exceptions, console errors other than the
 * browser's own "Failed to load resource" line for an HTTP error the page handles (a 404 it reports), any
 * 5xx, and any dashboard file that does not load.
 */
/** The seed-style tabular job's files (13 features) on disk, for the form's file inputs. */
let samples: Promise<{ csv: string; model: string; definition: string }> | undefined;
function sampleInputs(): Promise<{ csv: string; model: string; definition: string }> {
  samples ??= writeTabularInputs(work);
  return samples;
}

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
    await execFileAsync(file, argv, { cwd, env, timeout: 120_000 }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      assert.fail(`${line}\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
  }
  for (const tool of ['oras', 'aibomgen']) assert.ok(existsSync(join(dir, tool, 'web-e2e', 'model', 'model.json')), `${tool} pulled the model files`);
}

/** The shape of `layoutGraph` in server/web/static/js/lineage-layout.js (a plain ES module with JSDoc types). */
type LayoutGraph = (
  nodes: { id: string }[],
  edges: { from: string; to: string }[],
  opts: { nodeWidth: number; nodeHeight: number },
) => {
  nodes: { id: string; layer: number; order: number; x: number; y: number }[];
  edges: { from: string; to: string; points: [number, number][] }[];
  width: number;
  height: number;
};

async function openPage(opts: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; problems: string[] }> {
  assert.ok(browser);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: opts.colorScheme ?? 'light' });
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 500 || ((path === '/' || path.startsWith('/web/')) && r.status() >= 400)) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    // Requests the page aborts on purpose (a stream closed when the route changes) are not failures.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return { page, problems };
}

test('the server serves the dashboard: index, typed modules, CSP, ETag revalidation, 404 for anything else', async () => {
  const index = await fetch(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  const csp = index.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  const html = await index.text();
  assert.match(html, /<script type="module" src="\/web\/js\/main\.js">/);

  // Every module is preloaded from the page (main.js is loaded by its script tag), and every preload exists.
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/web\/([^"]+)">/g)].map((m) => m[1]!).sort();
  const modules = (await readdir(STATIC, { recursive: true })).filter((f) => f.endsWith('.js')).map((f) => f.split(sep).join('/')).sort();
  assert.deepEqual(preloaded, modules.filter((f) => f !== 'js/main.js'));
  for (const f of preloaded) assert.equal((await fetch(`${server.url}/web/${f}`)).status, 200, f);

  const js = await fetch(`${server.url}/web/js/main.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${server.url}/web/js/main.js`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);

  assert.match((await fetch(`${server.url}/web/app.css`)).headers.get('content-type') ?? '', /^text\/css/);
  for (const path of ['/web/nope.js', '/web/../server/web/area.ts', '/web/%2e%2e/%2e%2e/package.json', '/web/tsconfig.client.json', '/web/js']) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 404, path);
    if (res.headers.get('content-type')?.includes('json')) assert.equal(((await res.json()) as { error: string }).error, 'not_found');
  }
  const pem = await fetch(`${server.url}/web/keys/platform.pub`);
  assert.equal(pem.status, 200);
  assert.match(await pem.text(), /^-----BEGIN PUBLIC KEY-----/);
});

test('the client modules type-check (JSDoc types, strict, no unused names)', async () => {
  const tsc = join(import.meta.dirname, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const config = join(import.meta.dirname, '..', '..', 'server', 'web', 'tsconfig.client.json');
  await execFileAsync(process.execPath, [tsc, '-p', config, '--noUnusedLocals', '--noUnusedParameters'], { timeout: 120_000 }).catch((e: { stdout?: string; message: string }) => {
    assert.fail(`${e.message}\n${e.stdout ?? ''}`);
  });
});

test('every route renders its page without script errors', async () => {
  const { page, problems } = await openPage();
  const routes: [string, RegExp][] = [
    ['#/jobs', /^Training jobs$/],
    ['#/models', /^Models$/],
    ['#/login', /^Sign in$/],
    ['#/jobs/no-such-job', /^Job no-such-job$/],
    ['#/models/models/none', /^models\/none$/],
    ['#/artifacts/sha256:' + '0'.repeat(64), /^Built from/],
    ['#/definitely/not/a/page', /^Page not found$/],
  ];
  for (const [route, heading] of routes) {
    await page.goto(`${server.url}/${route}`);
    // Waits for this route's heading (a hash change renders asynchronously); a miss times out naming the route.
    await page.locator('main h1', { hasText: heading }).first().waitFor({ timeout: 30_000 }).catch(async () => {
      assert.fail(`${route}: expected a heading matching ${heading}, page says: ${await page.locator('main').innerText()}`);
    });
  }
  assert.match(await page.locator('main').innerText(), /Nothing lives at \/definitely\/not\/a\/page/);
  await page.goto(`${server.url}/#/jobs/no-such-job`);
  await page.getByText('No job with id no-such-job').waitFor();
  // Every form control has a label (the submit form is the biggest).
  await page.goto(`${server.url}/#/jobs`);
  await page.getByText('Submit a training job').click();
  const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('input, select'))
    .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
    .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, []);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('the lineage layout (run in the browser): layers flow left to right, no overlaps, cycles and long edges drawn', async () => {
  const { page, problems } = await openPage();
  await page.goto(`${server.url}/#/models`);
  const result = await page.evaluate(async () => {
    // The module the page itself loads (server/web/static/js/lineage-layout.js), imported by URL.
    const { layoutGraph } = (await import('/web/js/lineage-layout.js' as string)) as { layoutGraph: LayoutGraph };
    const nodes = ['d1', 'd2', 'img', 'job', 'base', 'm1', 'm2', 'x', 'y'].map((id) => ({ id }));
    const edges = [
      { from: 'd1', to: 'm1' }, { from: 'd2', to: 'm1' }, { from: 'img', to: 'job' }, { from: 'job', to: 'm1' },
      { from: 'base', to: 'm1' }, { from: 'm1', to: 'm2' }, { from: 'd1', to: 'm2' }, // d1 → m2 spans two layers
      { from: 'x', to: 'y' }, { from: 'y', to: 'x' }, { from: 'm1', to: 'm1' }, { from: 'd1', to: 'ghost' },
    ];
    return layoutGraph(nodes, edges, { nodeWidth: 100, nodeHeight: 40 });
  });
  assert.deepEqual(problems, []);
  await page.context().close();

  const at = new Map(result.nodes.map((n) => [n.id, n]));
  assert.equal(result.nodes.length, 9);
  const layer = (id: string): number => at.get(id)!.layer;
  assert.equal(layer('img'), 0);
  assert.equal(layer('job'), 1);
  assert.equal(layer('m1'), 2, 'm1 sits after its longest upstream path (img → job → m1)');
  assert.equal(layer('m2'), 3);
  assert.ok(layer('d1') < layer('m1') && layer('d2') < layer('m1') && layer('base') < layer('m1'));
  // Every drawn edge except the one reversed to break the x ⇄ y cycle runs left to right.
  const edges = result.edges.filter((e) => !(e.from === 'y' && e.to === 'x'));
  for (const e of edges) {
    const xs = e.points.map((p) => p[0]);
    assert.ok(xs.every((x, i) => i === 0 || x > xs[i - 1]!), `${e.from} → ${e.to} runs left to right`);
  }
  assert.equal(result.edges.length, 9, 'self-loop and edge to an unknown node dropped');
  const long = result.edges.find((e) => e.from === 'd1' && e.to === 'm2');
  assert.ok(long && long.points.length === 2 + layer('m2') - layer('d1') - 1, 'the long edge bends through one point per layer it crosses');
  // No two nodes overlap.
  for (const a of result.nodes) {
    for (const b of result.nodes) {
      if (a.id >= b.id) continue;
      const apart = a.x + 100 <= b.x || b.x + 100 <= a.x || a.y + 40 <= b.y || b.y + 40 <= a.y;
      assert.ok(apart, `${a.id} and ${b.id} overlap`);
    }
  }
  for (const n of result.nodes) assert.ok(n.x + 100 <= result.width && n.y + 40 <= result.height, `${n.id} inside the canvas`);
});

test('colours follow prefers-color-scheme', async () => {
  const bg = async (scheme: 'light' | 'dark'): Promise<number> => {
    const { page, problems } = await openPage({ colorScheme: scheme });
    await page.goto(`${server.url}/#/jobs`);
    await page.locator('main h1').waitFor();
    const rgb = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.deepEqual(problems, []);
    await page.context().close();
    const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number);
    return (r! + g! + b!) / 3;
  };
  assert.ok((await bg('light')) > 200, 'light background');
  assert.ok((await bg('dark')) < 60, 'dark background');
});

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
  page.on('request', (r) => { if (r.url().endsWith('/events')) streams.push(r.url()); });
  await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
  const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]!);
  const modelLink = page.getByTestId('job-model-link');
  await modelLink.waitFor({ timeout: 180_000 });
  assert.equal((await page.locator('main h1 .badge').innerText()).trim(), 'succeeded');
  assert.ok(streams.some((u) => u.endsWith(`/developer/jobs/${jobId}/events`)), 'the page followed the job event stream');
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
  const [baseBox, modelBox] = [await page.locator('svg.lineage .node.focus rect').boundingBox(), await downstream.locator('rect').boundingBox()];
  assert.ok(baseBox && modelBox && modelBox.x > baseBox.x, 'the fine-tuned model is drawn downstream (to the right) of its base');

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

test('routes: repositories with slashes, digests, tags and aliases; anything else is not a page', async () => {
  const { page, problems } = await openPage();
  await page.goto(`${server.url}/#/jobs`);
  const parsed = await page.evaluate(async () => {
    const { parseRoute } = (await import('/web/js/router.js' as string)) as { parseRoute: (hash: string) => Record<string, string> };
    const d = `sha256:${'ab'.repeat(32)}`;
    return [
      '', '#/', '#/jobs', '#/jobs/6c26ca7-1', '#/models', '#/models/models/iris', `#/models/models/iris@${d}`,
      '#/models/org/team/iris:1.0.0', '#/models/models/iris:prod', `#/models/models/iris@${d}/lineage`, '#/models/models/iris/lineage',
      `#/artifacts/${d}`, '#/artifacts/nope', '#/login?next=%23%2Fjobs%2F1', '#/models/localhost:5000/x',
    ].map((h) => [h, parseRoute(h)] as const);
  });
  const d = `sha256:${'ab'.repeat(32)}`;
  assert.deepEqual(Object.fromEntries(parsed), {
    '': { name: 'jobs' },
    '#/': { name: 'jobs' },
    '#/jobs': { name: 'jobs' },
    '#/jobs/6c26ca7-1': { name: 'job', id: '6c26ca7-1' },
    '#/models': { name: 'models' },
    '#/models/models/iris': { name: 'model', repo: 'models/iris' },
    [`#/models/models/iris@${d}`]: { name: 'model', repo: 'models/iris', version: d },
    '#/models/org/team/iris:1.0.0': { name: 'model', repo: 'org/team/iris', version: '1.0.0' },
    '#/models/models/iris:prod': { name: 'model', repo: 'models/iris', version: 'prod' },
    [`#/models/models/iris@${d}/lineage`]: { name: 'lineage', repo: 'models/iris', version: d },
    '#/models/models/iris/lineage': { name: 'not-found', path: '/models/models/iris/lineage' },
    [`#/artifacts/${d}`]: { name: 'impact', digest: d },
    '#/artifacts/nope': { name: 'not-found', path: '/artifacts/nope' },
    '#/login?next=%23%2Fjobs%2F1': { name: 'login', next: '#/jobs/1' },
    '#/models/localhost:5000/x': { name: 'model', repo: 'localhost:5000/x' },
  });
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
  await page.getByRole('alert').filter({ hasText: /'abc' is not a valid float/ }).waitFor();
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
    page.on('request', (r) => { if (r.url().includes('/developer/')) authHeaders.push(r.headers().authorization ?? ''); });
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
