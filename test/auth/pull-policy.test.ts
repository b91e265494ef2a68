/**
 * The verifying pull (AIBOMGEN_PULL_POLICY=verified): `oras pull` of a published model works while its evidence
 * verifies, and is refused with a clear error once its AIBoM blob was altered in storage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResponse } from '../../schema/api.ts';
import { MediaType } from '../../schema/media-types.ts';
import { PLATFORM } from '../../server/identity.ts';
import { tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let work: string;
let job: JobResponse;
let tampered: JobResponse;

const oras = (args: string[]): Promise<{ code: number; out: string }> =>
  new Promise((resolve) => {
    execFile(
      'oras',
      args,
      { cwd: work, env: { ...process.env, HOME: work, DOCKER_CONFIG: join(work, 'docker') } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });

before(async () => {
  srv = await startTestServer({ runner: 'process', pullPolicy: 'verified' });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-pullpolicy-'));
  const run = async (name: string): Promise<JobResponse> => {
    const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
      method: 'POST',
      body: await tabularForm(work, { epochs: 1, name, samples: 120 }),
    });
    assert.equal(res.status, 202);
    const done = await waitForState(srv.url, ((await res.json()) as JobResponse).job_id);
    assert.equal(done.status, 'succeeded', done.reason);
    return done;
  };
  job = await run('gated');
  // A second model, never pulled before its evidence is altered (a verified pull is cached for a minute).
  tampered = await run('gated-two');
});
after(async () => {
  await srv?.close();
  await rm(work, { recursive: true, force: true });
});

test('a verifying model pulls; after its AIBoM blob is altered in storage, oras pull is refused saying why', async () => {
  const ref = job.publication!.ref;
  const ok = await oras(['pull', '--plain-http', '-o', join(work, 'ok'), ref]);
  assert.equal(ok.code, 0, ok.out);
  assert.deepEqual(
    await readFile(join(work, 'ok', 'metrics.json')),
    await readFile(join(srv.dataDir, 'jobs', job.job_id, 'output', 'metrics.json')),
  );

  // One byte of the second model's AIBoM blob, in the embedded store's own files.
  const target = srv.services.registry.as(PLATFORM);
  const repo = tampered.publication!.repository;
  const [aibom] = await target.referrers(repo, tampered.publication!.digest, MediaType.cyclonedxJson);
  const m = JSON.parse(Buffer.from((await target.getManifest(repo, aibom!.digest))!.bytes).toString('utf8')) as {
    layers: { digest: string }[];
  };
  const hex = m.layers[0]!.digest.slice('sha256:'.length);
  const file = join(srv.dataDir, 'registry', 'blobs', 'sha256', hex.slice(0, 2), hex);
  const bytes = await readFile(file);
  bytes[10] = bytes[10]! ^ 1;
  await writeFile(file, bytes);

  const refused = await oras(['pull', '--plain-http', '-o', join(work, 'refused'), tampered.publication!.ref]);
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /verified-pull policy/);
  assert.match(refused.out, /does not verify/);
  // The first model still pulls.
  assert.equal((await oras(['pull', '--plain-http', '-o', join(work, 'ok-again'), ref])).code, 0);
});
