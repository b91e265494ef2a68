/**
 * What the dashboard tests (test/web/dashboard-*.test.ts) share: a real server with the process runner, a
 * scratch directory, Debian's chromium driven by playwright-core, and pages that record what would be a bug.
 * Each test file calls `dashboardFixture()` once at top level; it registers the before/after hooks itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeTabularInputs } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';

export interface Dashboard {
  server: TestServer;
  /** Scratch directory, removed after the file's tests. */
  work: string;
  openPage(opts?: { colorScheme?: 'light' | 'dark' }): Promise<{ page: Page; problems: string[] }>;
  /** The seed-style tabular job's files (13 features) on disk, for the form's file inputs. */
  sampleInputs(): Promise<{ csv: string; model: string; definition: string }>;
}

export async function dashboardFixture(): Promise<Dashboard> {
  const server = await startTestServer({ runner: 'process' });
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-web-'));
  let browser: Browser | undefined;
  test.before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  test.after(async () => {
    await browser?.close();
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  let samples: Promise<{ csv: string; model: string; definition: string }> | undefined;
  const sampleInputs = (): Promise<{ csv: string; model: string; definition: string }> => {
    samples ??= writeTabularInputs(work);
    return samples;
  };

  /**
   * A fresh page that records what would be a bug: uncaught exceptions, console errors other than the
   * browser's own "Failed to load resource" line for an HTTP error the page handles (a 404 it reports), any
   * 5xx, and any dashboard file that does not load.
   */
  async function openPage(opts: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; problems: string[] }> {
    assert.ok(browser);
    const ctx = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: opts.colorScheme ?? 'light',
    });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (r.status() >= 500 || ((path === '/' || path.startsWith('/web/')) && r.status() >= 400))
        problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      // Requests the page aborts on purpose (a stream closed when the route changes) are not failures.
      if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? ''))
        problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    return { page, problems };
  }

  return { server, work, openPage, sampleInputs };
}
