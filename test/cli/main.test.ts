import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';

// Runs the real `aibomgen` bin (tsx shim) as a user would.
function aibomgen(...args: string[]) {
  return spawnSync(process.execPath, ['cli/bin.js', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

test('--help lists server, keys and verify and the global --server option', () => {
  const r = aibomgen('--help');
  assert.equal(r.status, 0);
  for (const word of ['server', 'keys', 'verify', '--server <url>']) assert.match(r.stdout, new RegExp(word.replace(/[<>-]/g, '\\$&')));
});

test('an unknown command is a usage error (exit 2) naming the command', () => {
  const r = aibomgen('nosuch');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'nosuch'/);
});

test('AIBOMGEN_SERVER sets the default --server', () => {
  const r = spawnSync(process.execPath, ['cli/bin.js', '--help'], { encoding: 'utf8', env: { ...process.env, AIBOMGEN_SERVER: 'http://example.test:9' } });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /http:\/\/example\.test:9/);
});
