import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobResponse } from '../../schema/api.ts';
import { mlpModelJson, tabularDefinition, writeTabularCsv } from '../../trainer/samples/generate.ts';

/** The seed-style tabular job's three files (13 features, binary label) written to `dir`. */
export async function writeTabularInputs(
  dir: string,
  samples = 300,
): Promise<{ csv: string; model: string; definition: string }> {
  const files = {
    csv: join(dir, 'dataset.csv'),
    model: join(dir, 'model.json'),
    definition: join(dir, 'dataset_definition.json'),
  };
  await writeTabularCsv(files.csv, samples, 1);
  await writeFile(files.model, JSON.stringify(mlpModelJson()));
  await writeFile(files.definition, JSON.stringify(tabularDefinition()));
  return files;
}

/** `aibomgen submit` flags naming those files. */
export const submitFlags = (f: { csv: string; model: string; definition: string }): string[] => [
  '--model',
  f.model,
  '--dataset',
  f.csv,
  '--definition',
  f.definition,
];

/** The seed-style tabular job as multipart form data. */
export async function tabularForm(
  dir: string,
  o: { samples?: number; epochs?: number; name?: string; extra?: Record<string, string> } = {},
): Promise<FormData> {
  const files = await writeTabularInputs(dir, o.samples ?? 300);
  const form = new FormData();
  form.set('model', new Blob([await readFile(files.model)], { type: 'application/json' }), 'model.json');
  form.set('dataset', new Blob([await readFile(files.csv)], { type: 'text/csv' }), 'dataset.csv');
  form.set(
    'dataset_definition',
    new Blob([await readFile(files.definition)], { type: 'application/json' }),
    'dataset_definition.json',
  );
  form.set('framework', 'TensorFlow 2.16.1');
  form.set('epochs', String(o.epochs ?? 2));
  form.set('batch_size', '32');
  form.set('model_name', o.name ?? 'tabular-test');
  form.set('model_version', '1.0.0');
  form.set('author', 'test');
  form.set('license_name', 'Apache-2.0');
  for (const [k, v] of Object.entries(o.extra ?? {})) form.set(k, v);
  return form;
}

export async function submit(
  url: string,
  form: FormData,
  path = '/developer/submit_job_by_model_and_data',
): Promise<{ status: number; body: JobResponse & { error?: string; detail?: string } }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as JobResponse & { error?: string; detail?: string } };
}

/** Polls job_status until the job is in one of `states` (or a terminal state). */
export async function waitForState(
  url: string,
  id: string,
  states: string[] = ['succeeded', 'failed', 'cancelled'],
  timeoutMs = 240_000,
  headers: Record<string, string> = {},
): Promise<JobResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await fetch(`${url}/developer/job_status/${id}`, { headers })).json()) as JobResponse;
    if (states.includes(job.status) || ['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Reads the job's SSE stream until its first epoch event (the trainer is really training), then lets go. */
export async function waitForFirstEpoch(url: string, id: string): Promise<void> {
  const res = await fetch(`${url}/developer/jobs/${id}/events`);
  const reader = res.body!.getReader();
  let seen = '';
  while (!seen.includes('event: epoch')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the event stream of job ${id} ended before any epoch:\n${seen}`);
    seen += Buffer.from(value).toString();
  }
  await reader.cancel();
}

/**
 * Approves the own key of worker `workerId` once it has enrolled (what `aibomgen workers approve` does), as an
 * administrator of the API node at `url` (auth off, or `headers` with an administrator's token).
 */
export async function approveWorker(
  url: string,
  workerId: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/developer/admin/worker-keys/${encodeURIComponent(workerId)}/approve`, {
      method: 'POST',
      headers,
    });
    if (res.ok) return;
    if (res.status !== 404 || Date.now() > deadline)
      throw new Error(`approving worker ${workerId}: ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 100)); // not enrolled yet
  }
}
