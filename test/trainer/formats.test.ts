/** In-process checks of the trainer's format code: CRC-32C, the tf.train.Example codec, TFRecord framing, CSV, definitions, zip names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetDefinitionSchema, describeZodError, paramsSchema } from '../../schema/trainer.ts';
import { crc32c } from '../../trainer/datasets/crc32c.ts';
import { splitCsvLine } from '../../trainer/datasets/csv.ts';
import { decodeExample, encodeExample } from '../../trainer/datasets/example-proto.ts';
import { unsafeEntryName } from '../../trainer/datasets/safe-unzip.ts';
import { frameRecord, loadTfRecords, readRecords, writeTfRecord } from '../../trainer/datasets/tfrecord.ts';
import { locateDataset } from '../../trainer/inputs/locate.ts';
import { TrainerError } from '../../trainer/errors.ts';
import { mkdir } from 'node:fs/promises';
import { tempDir } from './trainer-process.ts';

test('CRC-32C check value', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('tf.train.Example round trip: floats, negative int64, bytes', () => {
  const bytes = encodeExample({
    x: { kind: 'float', values: [0.5, -1.25, 3] },
    label: { kind: 'int64', values: [-7, 2 ** 40] },
    img: { kind: 'bytes', values: [Uint8Array.from([1, 2, 3])] },
  });
  const ex = decodeExample(bytes, 'r0');
  assert.deepEqual(ex.get('x'), { kind: 'float', values: [0.5, -1.25, 3] });
  assert.deepEqual(ex.get('label'), { kind: 'int64', values: [-7, 2 ** 40] });
  const img = ex.get('img');
  assert.ok(img?.kind === 'bytes');
  assert.deepEqual([...img.values[0]!], [1, 2, 3]);
  assert.throws(
    () => decodeExample(bytes.subarray(0, bytes.length - 3), 'r1'),
    (e: unknown) => e instanceof TrainerError && e.code === 'corrupt_archive',
  );
});

test('TFRecord framing: both CRCs checked', () => {
  const rec = frameRecord(Uint8Array.from([9, 8, 7]));
  assert.deepEqual(
    [...readRecords(rec, 'f')].map((r) => [...r]),
    [[9, 8, 7]],
  );
  const badLen = Uint8Array.from(rec);
  badLen[0] = 4;
  assert.throws(() => [...readRecords(badLen, 'f')], /length CRC mismatch/);
  assert.throws(() => [...readRecords(rec.subarray(0, 14), 'f')], /truncated/);
});

test('dataset/ with several .tfrecord files loads them in name order', async () => {
  const dir = await tempDir('tfrdir');
  await mkdir(join(dir, 'dataset'));
  await writeTfRecord(join(dir, 'dataset', 'b.tfrecord'), [
    { a: { kind: 'float', values: [2] }, label: { kind: 'int64', values: [1] } },
  ]);
  await writeTfRecord(join(dir, 'dataset', 'a.tfrecord'), [
    { a: { kind: 'float', values: [1] }, label: { kind: 'int64', values: [0] } },
  ]);
  const src = locateDataset(dir);
  assert.equal(src.kind, 'tfrecord');
  const def = datasetDefinitionSchema.parse({
    columns: { a: 'float', label: 'int' },
    input_shape: [1],
    output_shape: [2],
  });
  const ds = await loadTfRecords(src.kind === 'tfrecord' ? src.files : [], def);
  assert.deepEqual([...ds.xs], [1, 2]);
  assert.deepEqual([...ds.ys], [1, 0, 0, 1]);
});

test('CSV line splitting honours quotes', () => {
  assert.deepEqual(splitCsvLine('1,"2,5","a ""b""",'), ['1', '2,5', 'a "b"', '']);
});

test('definition and params errors name the field', () => {
  const d = datasetDefinitionSchema.safeParse({ columns: { age: 'text' }, input_shape: [1], output_shape: [1] });
  assert.ok(!d.success);
  const { message, field } = describeZodError(d.error);
  assert.equal(field, 'columns.age');
  assert.match(message, /^columns\.age: /);
  const p = paramsSchema.safeParse({ epochs: 3, initial_epoch: 5 });
  assert.ok(!p.success);
  assert.equal(describeZodError(p.error).field, 'initial_epoch');
  assert.deepEqual(paramsSchema.parse({}), {
    epochs: 50,
    validation_split: 0.2,
    initial_epoch: 0,
    batch_size: 32,
    validation_freq: 1,
    seed: 42,
  });
});

test('zip entry names that escape the root are refused', () => {
  for (const n of ['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\..\\x']) assert.ok(unsafeEntryName(n), n);
  for (const n of ['a/b.png', 'x..y/z.png']) assert.ok(!unsafeEntryName(n), n);
});

test('a definition file with YAML syntax errors is a bad_definition', async () => {
  const dir = await tempDir('yaml');
  await writeFile(join(dir, 'dataset_definition.yaml'), 'columns: [unclosed');
  const { readDefinition } = await import('../../trainer/inputs/definition.ts');
  await assert.rejects(readDefinition(dir), (e: unknown) => e instanceof TrainerError && e.code === 'bad_definition');
});

test('a zip cut anywhere inside its entries is corrupt; limits on entries and size hold', async () => {
  const { zipSync } = await import('fflate');
  const { unzipSafely } = await import('../../trainer/datasets/safe-unzip.ts');
  const dir = await tempDir('zip');
  const z = zipSync(
    { 'a/1.bin': new Uint8Array(5000).map((_, i) => i * 7), 'a/2.bin': new Uint8Array(5000).map((_, i) => i * 13) },
    { level: 0 },
  );
  const p = join(dir, 't.zip');
  for (const cut of [100, 4000, 5100, 9000]) {
    await writeFile(p, z.subarray(0, cut));
    await assert.rejects(
      unzipSafely(p, 'dataset.zip'),
      (e: unknown) => e instanceof TrainerError && e.code === 'corrupt_archive',
      `cut at ${cut}`,
    );
  }
  await writeFile(p, z);
  assert.deepEqual([...(await unzipSafely(p, 'dataset.zip')).keys()], ['a/1.bin', 'a/2.bin']);
  await assert.rejects(
    unzipSafely(p, 'dataset.zip', { maxEntries: 1, maxTotalBytes: 1e9, maxRatio: 100 }),
    /more than 1 entries/,
  );
  await assert.rejects(
    unzipSafely(p, 'dataset.zip', { maxEntries: 10, maxTotalBytes: 6000, maxRatio: 100 }),
    /inflates to more than 6000 bytes/,
  );
});

test('CSV features follow the header order, whatever the definition key order', async () => {
  const { loadCsv } = await import('../../trainer/datasets/csv.ts');
  const dir = await tempDir('csvorder');
  const p = join(dir, 'd.csv');
  await writeFile(p, 'b,label,a\n2,1,1\n4,0,3\n');
  const def = datasetDefinitionSchema.parse({
    columns: { a: 'float', b: 'float', label: 'int' },
    input_shape: [2],
    output_shape: [1],
  });
  const ds = await loadCsv(p, def);
  assert.deepEqual([...ds.xs], [2, 1, 4, 3]);
  assert.deepEqual([...ds.ys], [1, 0]);
});
