/**
 * Terminal behaviour, under a real pseudo-terminal (util-linux `script`): colours and progress bars appear
 * only on a terminal; NO_COLOR removes every ANSI escape (the bars redraw with a carriage return only).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { submitFlags, writeTabularInputs } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { aibomgen, cliHome } from './run.ts';

const SCRIPT = '/usr/bin/script';
let srv: TestServer;
let inputs: string[];

before(async () => {
  srv = await startTestServer({ runner: 'process' });
  // 12,000 rows ≈ 1.9 MB: above the 1 MiB threshold for an upload bar.
  inputs = submitFlags(await writeTabularInputs(mkdtempSync(join(tmpdir(), 'aibomgen-tty-')), 12_000));
});
after(async () => {
  await srv.close();
});

const sh = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** Runs aibomgen with stdout and stderr on a pseudo-terminal; returns everything the terminal showed. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; screen: string }> {
  const cmd = [process.execPath, join(process.cwd(), 'cli/bin.js'), '--server', srv.url, ...args].map(sh).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qefc', cmd, '/dev/null'], {
      env: { ...env, TERM: 'xterm', COLUMNS: '100' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, screen }));
  });
}

test('on a terminal: upload and training bars and coloured states; NO_COLOR: bars without any ANSI; piped: neither', {
  skip: !existsSync(SCRIPT) && 'util-linux script is not installed',
}, async () => {
  const { env } = cliHome();
  delete env.NO_COLOR;
  const tty = await onTerminal(['submit', ...inputs, '--epochs', '1', '--name', 'tty-a'], env);
  assert.equal(tty.status, 0, tty.screen);
  assert.match(tty.screen, /\rupload \[#+\] 100% 1\.\d MiB\/1\.\d MiB/);
  assert.match(tty.screen, /\rtraining \[#+\] 100% 1\/1/);
  assert.match(tty.screen, /\x1b\[32msucceeded\x1b\[39m/, 'the final state in green');
  assert.match(
    tty.screen,
    new RegExp(`${srv.hostPort.replace(/\./g, '\\.')}/models/tty-a:[0-9a-f-]{36}`),
    'the reference (tag = job id without --model-version)',
  );

  const plain = await onTerminal(['submit', ...inputs, '--epochs', '1', '--name', 'tty-b'], { ...env, NO_COLOR: '1' });
  assert.equal(plain.status, 0, plain.screen);
  assert.match(plain.screen, /\rupload \[#+\] 100%/);
  assert.doesNotMatch(plain.screen, /\x1b/, 'NO_COLOR: no escape sequences at all');

  const ls = await onTerminal(['jobs', 'ls'], env);
  assert.match(ls.screen, /\x1b\[32msucceeded/);

  // The same big upload piped (not a terminal), without NO_COLOR: no bar, no escapes, just the job id.
  const piped = await aibomgen(
    ['--server', srv.url, 'submit', ...inputs, '--epochs', '1', '--name', 'tty-c', '--detach'],
    { env },
  );
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /^[0-9a-f-]{36}\n$/);
  assert.equal(piped.stderr, '');
});
