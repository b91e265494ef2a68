/**
 * Bad submissions get the right 4xx with a reason naming the problem, and the data directory holds
 * nothing new afterwards (no job row, no upload left on disk).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startTestServer } from '../helpers/server.ts';
import { submit, tabularForm } from '../helpers/jobs.ts';

const server = await startTestServer({ runner: 'process', maxUploadBytes: 64 * 1024 });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-bad-'));
test.after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

/** Every file under the data dir with its size (the SQLite WAL/SHM files change with any read: skipped). */
async function snapshot(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${relative(server.dataDir, p)}/`);
        await walk(p);
      } else if (!/\.db(-wal|-shm)?$/.test(e.name)) out.push(`${relative(server.dataDir, p)} ${(await stat(p)).size}`);
    }
  };
  await walk(server.dataDir);
  return out.sort();
}

async function jobCount(): Promise<number> {
  return ((await (await fetch(`${server.url}/developer/jobs`)).json()) as { items: unknown[] }).items.length;
}

const cases: { name: string; status: number; error: RegExp; field?: string; form: () => Promise<FormData | string> }[] =
  [
    {
      name: 'missing dataset file',
      status: 400,
      error: /missing: dataset/,
      field: 'dataset',
      form: async () => {
        const f = await tabularForm(work);
        f.delete('dataset');
        return f;
      },
    },
    {
      name: 'epochs is not a number',
      status: 400,
      error: /epochs/,
      field: 'epochs',
      form: () => tabularForm(work, { extra: { epochs: 'many' } }),
    },
    {
      name: 'validation_split out of range',
      status: 400,
      error: /validation_split/,
      field: 'validation_split',
      form: () => tabularForm(work, { extra: { validation_split: '1.5' } }),
    },
    {
      name: 'base_model_source not a URL',
      status: 400,
      error: /base_model_source/,
      field: 'base_model_source',
      form: () => tabularForm(work, { extra: { base_model_source: 'not a url' } }),
    },
    {
      name: 'unknown framework',
      status: 422,
      error: /framework "pytorch" is not supported/,
      field: 'framework',
      form: () => tabularForm(work, { extra: { framework: 'pytorch' } }),
    },
    {
      name: 'dataset definition does not match the dataset',
      status: 422,
      error: /does not match dataset_definition: .*feature13/,
      form: async () => {
        const f = await tabularForm(work);
        const def = {
          columns: { feature1: 'float', feature13: 'float', other: 'float', label: 'int' },
          input_shape: [3],
          output_shape: [1],
        };
        f.set('dataset', new Blob(['feature1,feature2,label\n1,2,0\n']), 'dataset.csv');
        f.set('dataset_definition', new Blob([JSON.stringify(def)]), 'def.json');
        return f;
      },
    },
    {
      name: 'invalid dataset definition',
      status: 400,
      error: /dataset_definition\.input_shape/,
      field: 'dataset_definition.input_shape',
      form: async () => {
        const f = await tabularForm(work);
        f.set('dataset_definition', new Blob([JSON.stringify({ input_shape: 'wide', output_shape: [1] })]), 'def.json');
        return f;
      },
    },
    {
      name: 'oversized upload',
      status: 413,
      error: /larger than the limit of 65536 bytes/,
      form: () => tabularForm(work, { samples: 5000 }), // ~400 KB CSV against a 64 KiB per-file limit
    },
    { name: 'not multipart at all', status: 400, error: /multipart\/form-data/, form: async () => '{"model": 1}' },
  ];

for (const c of cases) {
  test(`${c.name} → ${c.status}, nothing stored`, async () => {
    const before = await snapshot();
    const jobsBefore = await jobCount();
    const form = await c.form();
    const res =
      typeof form === 'string'
        ? await fetch(`${server.url}/developer/submit_job_by_model_and_data`, {
            method: 'POST',
            body: form,
            headers: { 'content-type': 'application/json' },
          }).then(async (r) => ({
            status: r.status,
            body: (await r.json()) as { error: string; detail: string; fields?: { field: string }[] },
          }))
        : await submit(server.url, form);
    const body = res.body as unknown as { error: string; detail: string; fields?: { field: string }[] };
    assert.equal(res.status, c.status, JSON.stringify(body));
    assert.match(body.detail, c.error);
    if (c.field)
      assert.ok(
        body.fields?.some((f) => f.field === c.field),
        JSON.stringify(body.fields),
      );
    assert.deepEqual(await snapshot(), before);
    assert.equal(await jobCount(), jobsBefore);
  });
}

test('unknown job ids are 404 with a reason, for every job route', async () => {
  for (const path of [
    '/developer/job_status/x1',
    '/developer/job_artifacts/x1',
    '/developer/job_artifacts/x1/model.json',
    '/developer/jobs/x1/events',
    '/developer/jobs/x1/logs',
  ]) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 404, path);
    assert.match(((await res.json()) as { detail: string }).detail, /job x1 does not exist/);
  }
});

test('the OpenAPI document describes every developer route', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
    openapi: string;
    paths: Record<string, unknown>;
  };
  assert.equal(doc.openapi, '3.1.0');
  for (const p of [
    '/developer/submit_job_by_model_and_data',
    '/developer/submit_job_by_image',
    '/developer/job_status/{job_id}',
    '/developer/jobs',
    '/developer/jobs/{job_id}/cancel',
    '/developer/job_artifacts/{job_id}',
    '/developer/job_artifacts/{job_id}/{artifact_name}',
    '/developer/jobs/{job_id}/events',
  ]) {
    assert.ok(doc.paths[p], `${p} missing`);
  }
  const ui = await fetch(`${server.url}/docs`);
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /swagger/i);
});

test('a dataset definition over 1 MiB → 413 naming the field, before it is parsed; nothing stored', async () => {
  const big = await startTestServer({ runner: 'process' });
  try {
    const f = await tabularForm(work);
    f.set(
      'dataset_definition',
      new Blob([JSON.stringify({ input_shape: [13], output_shape: [1], pad: 'x'.repeat(1_200_000) })]),
      'def.json',
    );
    const res = await submit(big.url, f);
    const body = res.body as unknown as { detail: string; fields?: { field: string }[] };
    assert.equal(res.status, 413, JSON.stringify(body));
    assert.match(body.detail, /dataset_definition: \d+ bytes, at most 1048576/);
    assert.ok(body.fields?.some((x) => x.field === 'dataset_definition'));
    const jobs = await big.services.db.selectFrom('jobs').select('id').execute();
    assert.deepEqual(jobs, []);
    assert.deepEqual(await readdir(join(big.dataDir, 'jobs')).catch(() => []), []);
  } finally {
    await big.close();
  }
});
