/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against the real server, the
 * parts that need no job: static serving, the client modules' type-check, every route without script errors,
 * the lineage layout, the colour scheme and route parsing. Jobs driven from the page: dashboard-jobs.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join, sep } from 'node:path';
import { dashboardFixture } from './dashboard-browser.ts';

const STATIC = join(import.meta.dirname, '..', '..', 'server', 'web', 'static');
const execFileAsync = promisify(execFile);

const { server, openPage } = await dashboardFixture();

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
  const modules = (await readdir(STATIC, { recursive: true }))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.split(sep).join('/'))
    .sort();
  assert.deepEqual(
    preloaded,
    modules.filter((f) => f !== 'js/main.js'),
  );
  for (const f of preloaded) assert.equal((await fetch(`${server.url}/web/${f}`)).status, 200, f);

  const js = await fetch(`${server.url}/web/js/main.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${server.url}/web/js/main.js`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);

  assert.match((await fetch(`${server.url}/web/app.css`)).headers.get('content-type') ?? '', /^text\/css/);
  for (const path of [
    '/web/nope.js',
    '/web/../server/web/area.ts',
    '/web/%2e%2e/%2e%2e/package.json',
    '/web/tsconfig.client.json',
    '/web/js',
  ]) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 404, path);
    if (res.headers.get('content-type')?.includes('json'))
      assert.equal(((await res.json()) as { error: string }).error, 'not_found');
  }
  const pem = await fetch(`${server.url}/web/keys/platform.pub`);
  assert.equal(pem.status, 200);
  assert.match(await pem.text(), /^-----BEGIN PUBLIC KEY-----/);
});

test('the client modules type-check (JSDoc types, strict, no unused names)', async () => {
  const tsc = join(import.meta.dirname, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const config = join(import.meta.dirname, '..', '..', 'server', 'web', 'tsconfig.client.json');
  await execFileAsync(process.execPath, [tsc, '-p', config, '--noUnusedLocals', '--noUnusedParameters'], {
    timeout: 120_000,
  }).catch((e: { stdout?: string; message: string }) => {
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
    [`#/artifacts/sha256:${'0'.repeat(64)}`, /^Built from/],
    ['#/definitely/not/a/page', /^Page not found$/],
  ];
  for (const [route, heading] of routes) {
    await page.goto(`${server.url}/${route}`);
    // Waits for this route's heading (a hash change renders asynchronously); a miss times out naming the route.
    await page
      .locator('main h1', { hasText: heading })
      .first()
      .waitFor({ timeout: 30_000 })
      .catch(async () => {
        assert.fail(
          `${route}: expected a heading matching ${heading}, page says: ${await page.locator('main').innerText()}`,
        );
      });
  }
  assert.match(await page.locator('main').innerText(), /Nothing lives at \/definitely\/not\/a\/page/);
  await page.goto(`${server.url}/#/jobs/no-such-job`);
  await page.getByText('No job with id no-such-job').waitFor();
  // Every form control has a label (the submit form is the biggest).
  await page.goto(`${server.url}/#/jobs`);
  await page.getByText('Submit a training job').click();
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select'))
      .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML),
  );
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
      { from: 'd1', to: 'm1' },
      { from: 'd2', to: 'm1' },
      { from: 'img', to: 'job' },
      { from: 'job', to: 'm1' },
      { from: 'base', to: 'm1' },
      { from: 'm1', to: 'm2' },
      { from: 'd1', to: 'm2' }, // d1 → m2 spans two layers
      { from: 'x', to: 'y' },
      { from: 'y', to: 'x' },
      { from: 'm1', to: 'm1' },
      { from: 'd1', to: 'ghost' },
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
    assert.ok(
      xs.every((x, i) => i === 0 || x > xs[i - 1]!),
      `${e.from} → ${e.to} runs left to right`,
    );
  }
  assert.equal(result.edges.length, 9, 'self-loop and edge to an unknown node dropped');
  const long = result.edges.find((e) => e.from === 'd1' && e.to === 'm2');
  assert.ok(
    long && long.points.length === 2 + layer('m2') - layer('d1') - 1,
    'the long edge bends through one point per layer it crosses',
  );
  // No two nodes overlap.
  for (const a of result.nodes) {
    for (const b of result.nodes) {
      if (a.id >= b.id) continue;
      const apart = a.x + 100 <= b.x || b.x + 100 <= a.x || a.y + 40 <= b.y || b.y + 40 <= a.y;
      assert.ok(apart, `${a.id} and ${b.id} overlap`);
    }
  }
  for (const n of result.nodes)
    assert.ok(n.x + 100 <= result.width && n.y + 40 <= result.height, `${n.id} inside the canvas`);
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

test('routes: repositories with slashes, digests, tags and aliases; anything else is not a page', async () => {
  const { page, problems } = await openPage();
  await page.goto(`${server.url}/#/jobs`);
  const parsed = await page.evaluate(async () => {
    const { parseRoute } = (await import('/web/js/router.js' as string)) as {
      parseRoute: (hash: string) => Record<string, string>;
    };
    const d = `sha256:${'ab'.repeat(32)}`;
    return [
      '',
      '#/',
      '#/jobs',
      '#/jobs/6c26ca7-1',
      '#/models',
      '#/models/models/iris',
      `#/models/models/iris@${d}`,
      '#/models/org/team/iris:1.0.0',
      '#/models/models/iris:prod',
      `#/models/models/iris@${d}/lineage`,
      '#/models/models/iris/lineage',
      `#/artifacts/${d}`,
      '#/artifacts/nope',
      '#/login?next=%23%2Fjobs%2F1',
      '#/models/localhost:5000/x',
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
