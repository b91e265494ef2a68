import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failingFields, modelMetadataFields, normalizeFramework, trainingParams } from '../../schema/api.ts';

test('framework: the seed spelling maps to tensorflow; others are refused', () => {
  assert.equal(normalizeFramework('TensorFlow 2.16.1'), 'tensorflow');
  assert.equal(normalizeFramework('tfjs'), 'tfjs');
  assert.equal(normalizeFramework('pytorch'), null);
});

test('training params: form strings coerce, seed defaults apply, bad fields are all named', () => {
  const ok = trainingParams.parse({ epochs: '3', batch_size: '8' });
  assert.deepEqual(ok, { epochs: 3, batch_size: 8, validation_split: 0.2, initial_epoch: 0, validation_freq: 1 });
  const bad = trainingParams.safeParse({ epochs: '0', validation_split: '1.5' });
  assert.equal(bad.success, false);
  const fields = failingFields(bad.error!)
    .map((f) => f.field)
    .sort();
  assert.deepEqual(fields, ['epochs', 'validation_split']);
  assert.equal(modelMetadataFields.safeParse({ base_model_source: 'not a url' }).success, false);
});
