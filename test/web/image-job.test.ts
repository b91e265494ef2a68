/**
 * The dashboard's "Run a trainer image" form in a real browser against a server with the docker runner
 * (podman): a busybox image pushed to our registry, a command and an input file → the job page follows it
 * to succeeded, lists what the command wrote, and links the published model.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { buildBusyboxImage } from '../helpers/busybox-image.ts';
import { startPodman, type PodmanService } from '../helpers/podman.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);
let podman: PodmanService;
let server: TestServer;
let browser: Browser;
let work: string;
let image: string;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  podman = await startPodman();
  server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath });
  const local = await buildBusyboxImage();
  image = `${server.hostPort}/trainers/web-busybox:1`;
  await run('skopeo', ['copy', '--dest-tls-verify=false', `containers-storage:${local}`, `docker://${image}`]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-web-image-'));
});
after(async () => {
  await browser?.close();
  await run('podman', ['rmi', '-f', image]).catch(() => undefined);
  await server?.close();
  await podman?.stop();
  await rm(work, { recursive: true, force: true });
});

test('a trainer image job submitted from the dashboard runs in a container and publishes what it wrote', async () => {
  const words = join(work, 'words.txt');
  await writeFile(words, 'one two three four\n');
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/#/jobs`);
  await page.getByText('Run a trainer image').click();
  await page.getByLabel('Image reference').fill(image);
  await page.getByLabel('Command').fill(JSON.stringify(['sh', '-c', 'wc -w < /input/words.txt > /output/count.txt']));
  await page.getByLabel('Input files').setInputFiles(words);
  await page.getByLabel('Model name').fill('web-image');
  await page.getByLabel('Model version').fill('1');
  await page.getByRole('button', { name: 'Run image' }).click();

  await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
  const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]!);
  await page.getByTestId('job-model-link').waitFor({ timeout: 120_000 });
  assert.equal((await page.locator('main h1 .badge').innerText()).trim(), 'succeeded');
  assert.ok(await page.getByRole('link', { name: 'count.txt' }).count(), 'the file the command wrote is listed');
  const job = (await (await fetch(`${server.url}/developer/job_status/${jobId}`)).json()) as {
    runner?: { kind: string; image?: string };
    publication?: { ref: string };
  };
  assert.equal(job.runner?.kind, 'docker');
  assert.equal(job.runner?.image, image);
  assert.equal(job.publication?.ref, `${server.hostPort}/models/web-image:1`);
  assert.equal((await (await fetch(`${server.url}/developer/job_artifacts/${jobId}/count.txt`)).text()).trim(), '4');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the image form shows the server refusal and marks the field it names', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/#/jobs`);
  await page.getByText('Run a trainer image').click();
  await page.getByLabel('Image reference').fill(image);
  await page.getByLabel('Command').fill('["sh", 3]');
  await page.getByRole('button', { name: 'Run image' }).click();
  await page.getByText(/Submit failed: 400/).waitFor();
  assert.equal(await page.getByLabel('Command').getAttribute('aria-invalid'), 'true');
  await page.close();
});
