/**
 * Every bad input from issue 3 makes the trainer exit non-zero with an error line and an error.json naming
 * the problem, and the output dir holds nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { stringify as toYaml } from 'yaml';
import { errorRecordSchema, type TrainerErrorCode } from '../../schema/trainer.ts';
import {
  encodePng,
  drawShape,
  mlpModelJson,
  tabularDefinition,
  writeSampleInput,
} from '../../trainer/samples/generate.ts';
import { ROOT, runTrainer, tempDir } from './trainer-process.ts';

type Kind = 'csv' | 'images' | 'tfrecord';

async function expectFailure(
  kind: Kind,
  mutate: (dir: string) => Promise<void>,
  code: TrainerErrorCode,
  mentions: RegExp,
  exit = 1,
): Promise<void> {
  const dir = await tempDir(`bad-${code}`);
  await writeSampleInput(dir, kind, { samples: 200, params: { epochs: 1 } });
  await mutate(dir);
  const run = await runTrainer(dir);
  assert.equal(run.code, exit, `exit code; stderr:\n${run.stderr}`);
  assert.deepEqual(run.outputFiles, ['error.json'], 'only error.json is left in the output');
  const record = errorRecordSchema.parse(JSON.parse(await readFile(join(run.outputDir, 'error.json'), 'utf8')));
  assert.equal(record.code, code, record.message);
  assert.match(record.message, mentions);
  const last = run.lines[run.lines.length - 1];
  assert.deepEqual(last, record, 'the last stdout line is the same error record');
  await rm(dir, { recursive: true, force: true });
  await rm(run.outputDir, { recursive: true, force: true });
}

const editCsv = (f: (lines: string[]) => string[]) => async (dir: string) => {
  const p = join(dir, 'dataset.csv');
  await writeFile(p, `${f((await readFile(p, 'utf8')).trimEnd().split('\n')).join('\n')}\n`);
};

test('shape mismatch between model and definition', () =>
  expectFailure(
    'csv',
    async (dir) =>
      writeFile(join(dir, 'dataset_definition.yaml'), toYaml({ ...tabularDefinition(), output_shape: [2] })),
    'shape_mismatch',
    /model output shape \[1\].*output_shape \[2\]/,
  ));

test('missing column', () =>
  expectFailure(
    'csv',
    editCsv((l) =>
      l.map((row) =>
        row
          .split(',')
          .filter((_, i) => i !== 4)
          .join(','),
      ),
    ),
    'missing_column',
    /no column 'feature5'/,
  ));

test('non-numeric cell names row and column', () =>
  expectFailure(
    'csv',
    editCsv((l) => l.map((row, i) => (i === 3 ? row.replace(/^[^,]*/, 'abc') : row))),
    'non_numeric',
    /row 4, column 'feature1': 'abc'/,
  ));

test('empty dataset', () =>
  expectFailure(
    'csv',
    editCsv((l) => l.slice(0, 1)),
    'empty_dataset',
    /no data rows/,
  ));

test('corrupt archive (truncated zip)', () =>
  expectFailure(
    'images',
    async (dir) => {
      const p = join(dir, 'dataset.zip');
      const buf = await readFile(p);
      await writeFile(p, buf.subarray(0, Math.floor(buf.length / 2)));
    },
    'corrupt_archive',
    /dataset\.zip/,
  ));

test('zip entry escaping the archive root', () =>
  expectFailure(
    'images',
    async (dir) => {
      await writeFile(
        join(dir, 'dataset.zip'),
        zipSync({
          '0/a.png': encodePng(drawShape(0, 28, Math.random), 28),
          '../../evil.png': encodePng(drawShape(1, 28, Math.random), 28),
        }),
      );
    },
    'unsafe_archive',
    /'\.\.\/\.\.\/evil\.png' escapes/,
  ));

test('zip bomb (inflation ratio)', () =>
  expectFailure(
    'images',
    async (dir) => {
      await writeFile(join(dir, 'dataset.zip'), zipSync({ '0/a.png': new Uint8Array(64 * 1024 * 1024) }, { level: 9 }));
    },
    'unsafe_archive',
    /inflates more than/,
  ));

test('corrupt TFRecord (data CRC)', () =>
  expectFailure(
    'tfrecord',
    async (dir) => {
      const p = join(dir, 'dataset.tfrecord');
      const buf = await readFile(p);
      buf[20] = buf[20]! ^ 0xff;
      await writeFile(p, buf);
    },
    'corrupt_archive',
    /record 0 data CRC mismatch/,
  ));

test('unsupported layer in a TF.js model', () =>
  expectFailure(
    'csv',
    async (dir) => {
      const m = mlpModelJson() as { modelTopology: { config: { layers: { class_name: string }[] } } };
      m.modelTopology.config.layers[1]!.class_name = 'LSTM';
      await writeFile(join(dir, 'model/model.json'), JSON.stringify(m));
    },
    'unsupported_layer',
    /unsupported layer 'LSTM'/,
  ));

test('unsupported layer in a .keras model', () =>
  expectFailure(
    'csv',
    async (dir) => {
      await rm(join(dir, 'model/model.json'));
      await copyFile(join(ROOT, 'trainer/samples/keras/unsupported.keras'), join(dir, 'model/unsupported.keras'));
    },
    'unsupported_layer',
    /unsupported layer 'LSTM'/,
  ));

test('bad definition names the field', () =>
  expectFailure(
    'csv',
    async (dir) => {
      const def = tabularDefinition() as { columns: Record<string, string> };
      def.columns.feature3 = 'text';
      await writeFile(join(dir, 'dataset_definition.yaml'), toYaml(def));
    },
    'bad_definition',
    /columns\.feature3: /,
  ));

test('bad params name the field', () =>
  expectFailure(
    'csv',
    async (dir) => writeFile(join(dir, 'params.json'), JSON.stringify({ epochs: -1 })),
    'bad_params',
    /epochs: /,
  ));

test('out of memory: a run over the memory budget fails before training with exit 2', async () => {
  const dir = await tempDir('oom');
  await writeSampleInput(dir, 'csv', { samples: 200, params: { epochs: 1 } });
  const run = await runTrainer(dir, { AIBOMGEN_TRAINER_MAX_MEMORY_MB: '0.01' });
  assert.equal(run.code, 2, run.stderr);
  assert.deepEqual(run.outputFiles, ['error.json']);
  const record = errorRecordSchema.parse(JSON.parse(await readFile(join(run.outputDir, 'error.json'), 'utf8')));
  assert.equal(record.code, 'out_of_memory');
  assert.match(record.message, /needs about \d+ MiB/);
});

test('command line: --help exits 0 with usage on stderr; an unknown option exits 1 with an error line', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'trainer/main.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  const help = run(['--help']);
  assert.equal(help.status, 0);
  assert.equal(help.stdout, '');
  assert.match(help.stderr, /--input <dir>/);
  const bad = run(['--bogus']);
  assert.equal(bad.status, 1);
  assert.deepEqual(JSON.parse(bad.stdout.trim()), {
    type: 'error',
    code: 'bad_params',
    message: "error: unknown option '--bogus'",
  });
});

test('a job killed with SIGTERM mid-training leaves only error.json', async () => {
  const { spawn } = await import('node:child_process');
  const { readdir } = await import('node:fs/promises');
  const dir = await tempDir('sigterm');
  const out = await tempDir('sigterm-out');
  await writeSampleInput(dir, 'csv', { samples: 1000, params: { epochs: 500 } });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'trainer/main.ts'), '--input', dir, '--output', out],
    { cwd: ROOT },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!child.killed && stdout.includes('"type":"epoch"')) child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 143);
  assert.deepEqual(await readdir(out), ['error.json']);
  assert.match(stdout.trim().split('\n').pop()!, /"code":"internal","message":"terminated by SIGTERM"/);
});
