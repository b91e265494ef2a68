/**
 * A TF.js model submitted as a zip is unpacked into the job's input/model/: model.json and its sibling files, from
 * the top of the archive or from one folder; nothing else, and no scratch folder is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import type { JobResponse } from '../../schema/api.ts';
import { mlpModelJson, tabularDefinition, writeTabularCsv } from '../../trainer/samples/generate.ts';
import { startTestServer } from '../helpers/server.ts';

test('a model zip with model.json in a folder is unpacked into input/model/, siblings only', async () => {
  // An API node: the job is queued, not run, so its input folder can be read as submitted.
  const srv = await startTestServer({ role: 'api' });
  try {
    const model = Buffer.from(JSON.stringify(mlpModelJson()));
    const weights = new Uint8Array(4096).fill(7);
    const zip = zipSync({
      'mlp/model.json': model,
      'mlp/group1-shard1of1.bin': weights,
      'mlp/extra/notes.txt': Buffer.from('not a sibling'),
      'README.md': Buffer.from('outside the model folder'),
    });
    const csv = join(srv.dataDir, 'dataset.csv');
    await writeTabularCsv(csv, 50, 1);
    const form = new FormData();
    form.set('model', new Blob([zip]), 'model.zip');
    form.set('dataset', new Blob([await readFile(csv)]), 'dataset.csv');
    form.set('dataset_definition', new Blob([JSON.stringify(tabularDefinition())]), 'dataset_definition.json');
    form.set('framework', 'tfjs');
    const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, { method: 'POST', body: form });
    const job = (await res.json()) as JobResponse & { detail?: string };
    assert.equal(res.status, 202, job.detail);
    const input = join(srv.dataDir, 'jobs', job.job_id, 'input');
    assert.deepEqual((await readdir(join(input, 'model'))).sort(), ['group1-shard1of1.bin', 'model.json']);
    assert.deepEqual(await readFile(join(input, 'model', 'model.json')), model);
    assert.deepEqual(new Uint8Array(await readFile(join(input, 'model', 'group1-shard1of1.bin'))), weights);
    assert.ok(!(await readdir(input)).some((n) => n.endsWith('.unzip')), 'no scratch folder is left');
  } finally {
    await srv.close();
  }
});
