import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aibomgen as aibomgenAsync, cliHome } from './run.ts';

// Runs the real `aibomgen` bin (tsx shim) as a user would; no server needed for these.
function aibomgen(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.AIBOMGEN_SERVER;
  return spawnSync(process.execPath, ['cli/bin.js', ...args], { encoding: 'utf8', env });
}
const run = (args: string[]) => aibomgenAsync(args, { env: cliHome().env });

test('--help lists every command, the global --server option and the exit codes', () => {
  const r = aibomgen('--help');
  assert.equal(r.status, 0);
  for (const word of [
    'server',
    'keys',
    'login',
    'tokens',
    'submit',
    'jobs',
    'models',
    'pull',
    'verify',
    'lineage',
    'bom',
    '--server <url>',
  ])
    assert.match(r.stdout, new RegExp(`(^|\\s)${word.replace(/[<>-]/g, '\\$&')}`, 'm'));
  for (const code of ['0  ok', '1  failure', '2  usage', '3  not found', '4  verification failed'])
    assert.ok(r.stdout.includes(code), code);
  assert.match(r.stdout, /NO_COLOR/);
});

test('every command has --help with examples (exit 0)', async () => {
  const commands = [
    ['server'],
    ['keys', 'init'],
    ['login'],
    ['tokens', 'create'],
    ['tokens', 'ls'],
    ['tokens', 'revoke'],
    ['submit'],
    ['jobs', 'ls'],
    ['jobs', 'show'],
    ['jobs', 'logs'],
    ['jobs', 'cancel'],
    ['models', 'ls'],
    ['models', 'show'],
    ['pull'],
    ['verify'],
    ['lineage'],
    ['bom', 'show'],
  ];
  // Started together: each run is mostly process start-up.
  const results = await Promise.all(commands.map((c) => run([...c, '--help'])));
  for (const [i, c] of commands.entries()) {
    const r = results[i]!;
    assert.equal(r.status, 0, c.join(' '));
    assert.match(r.stdout, /Examples?:\n {2}aibomgen /, `${c.join(' ')} --help has examples`);
    // `server` runs until stopped: it has no result to print as JSON.
    if (c.join(' ') !== 'server') assert.match(r.stdout, /--json/, `${c.join(' ')} has --json`);
  }
});

test('an unknown command is a usage error (exit 2) naming the command', () => {
  const r = aibomgen('nosuch');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'nosuch'/);
});

test('bad flags and missing arguments of subcommands are usage errors (exit 2), not crashes', async () => {
  const cases = [
    ['jobs', 'show'],
    ['jobs', 'ls', '--bogus'],
    ['jobs', 'ls', '--limit', '0'],
    ['pull'],
    ['lineage', 'x', '--direction', 'sideways'],
    ['submit', '--model', 'm'],
    ['bom'],
    ['--server', 'not a url', 'jobs', 'ls'],
  ];
  const results = await Promise.all(cases.map((args) => run(args)));
  for (const [i, args] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.length > 0 && !/\n\s+at /.test(r.stderr), `${args.join(' ')}: a message, no stack trace`);
  }
});

test('AIBOMGEN_SERVER sets the default --server', () => {
  const r = spawnSync(process.execPath, ['cli/bin.js', '--help'], {
    encoding: 'utf8',
    env: { ...process.env, AIBOMGEN_SERVER: 'http://example.test:9' },
  });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /http:\/\/example\.test:9/);
});
