import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertMove, canMove } from '../../server/jobs/state-machine.ts';

test('state machine: the happy path and failure/cancel moves are allowed; terminal states are final', () => {
  assert.ok(
    canMove('queued', 'running') &&
      canMove('running', 'attesting') &&
      canMove('attesting', 'publishing') &&
      canMove('publishing', 'succeeded'),
  );
  assert.ok(canMove('running', 'cancelled') && canMove('publishing', 'failed'));
  assert.equal(canMove('queued', 'succeeded'), false);
  assert.equal(canMove('running', 'succeeded'), false);
  // Cancelling while publishing would leave a half-published tag: it must finish or fail.
  assert.equal(canMove('publishing', 'cancelled'), false);
  assert.throws(() => assertMove('failed', 'succeeded'), /failed to succeeded/);
});
