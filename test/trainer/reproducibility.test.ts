/**
 * Same inputs + seed → bit-identical weights.bin (MLP and CNN), a different seed → different weights; and the
 * step-wise params (steps_per_epoch, validation_steps, validation_freq, initial_epoch) shape the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { metricsSchema } from '../../schema/trainer.ts';
import { writeSampleInput } from '../../trainer/samples/generate.ts';
import { runTrainer, sha256File, tempDir } from './trainer-process.ts';

async function weightsDigest(kind: 'csv' | 'images', seed: number): Promise<string> {
  const dir = await tempDir(`repro-${kind}`);
  await writeSampleInput(dir, kind, {
    samples: kind === 'csv' ? 400 : 80,
    params: { epochs: 2, seed, batch_size: 16 },
  });
  const run = await runTrainer(dir);
  assert.equal(run.code, 0, run.stderr);
  const metrics = metricsSchema.parse(JSON.parse(await readFile(join(run.outputDir, 'metrics.json'), 'utf8')));
  assert.equal(metrics.seed, seed);
  return sha256File(join(run.outputDir, 'model/weights.bin'));
}

test('MLP: same seed → identical weights.bin; other seed → different', async () => {
  const a = await weightsDigest('csv', 11);
  const b = await weightsDigest('csv', 11);
  const c = await weightsDigest('csv', 12);
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('CNN: same seed → identical weights.bin', async () => {
  assert.equal(await weightsDigest('images', 5), await weightsDigest('images', 5));
});

test('steps_per_epoch, validation_steps, validation_freq and initial_epoch', async () => {
  const dir = await tempDir('steps');
  await writeSampleInput(dir, 'csv', {
    samples: 500,
    params: {
      epochs: 5,
      initial_epoch: 1,
      batch_size: 10,
      steps_per_epoch: 3,
      validation_steps: 2,
      validation_freq: 2,
    },
  });
  const run = await runTrainer(dir);
  assert.equal(run.code, 0, run.stderr);
  const epochs = run.lines.flatMap((l) => (l.type === 'epoch' ? [l] : []));
  assert.deepEqual(
    epochs.map((e) => e.epoch),
    [2, 3, 4, 5],
  );
  assert.deepEqual(
    epochs.map((e) => 'val_loss' in e.logs),
    [true, false, true, false],
  );
  const metrics = metricsSchema.parse(JSON.parse(await readFile(join(run.outputDir, 'metrics.json'), 'utf8')));
  assert.equal(metrics.dataset.validation_samples, 20);
  assert.equal(metrics.history.length, 4);
});
