/**
 * Job inputs carried through the registry (AIBOMGEN_JOB_INPUTS=registry) are checked against the digests
 * recorded at submission before a worker trains on them: an `aibomgen/job-inputs` artifact replaced in storage
 * between submission and claim (users cannot write there at all; this is the platform's own storage being
 * altered) fails the job, naming the file and both digests, and nothing is trained or published.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { JobResponse } from '../../schema/api.ts';
import { MediaType } from '../../schema/media-types.ts';
import { compose } from '../../server/compose.ts';
import { loadConfig } from '../../server/config.ts';
import { PLATFORM } from '../../server/identity.ts';
import { JOB_INPUTS_REPO } from '../../server/jobs/input-transfer.ts';
import { tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer } from '../helpers/server.ts';

test('a tampered job-inputs artifact is detected by the worker and the job fails naming the mismatch', async () => {
  // The API node queues jobs and ships their inputs through the registry; it runs none itself.
  const api = await startTestServer({ runner: 'process', role: 'api', jobInputs: 'registry' });
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-tamper-'));
  try {
    const res = await fetch(`${api.url}/developer/submit_job_by_model_and_data`, {
      method: 'POST',
      body: await tabularForm(work, { epochs: 1, name: 'tampered', samples: 120 }),
    });
    assert.equal(res.status, 202);
    const id = ((await res.json()) as JobResponse).job_id;

    // Replace the dataset in the inputs artifact (the tag moves to a new manifest naming other bytes).
    const registry = api.services.registry.as(PLATFORM);
    const m = JSON.parse(Buffer.from((await registry.getManifest(JOB_INPUTS_REPO, id))!.bytes).toString('utf8')) as {
      layers: { digest: string; annotations?: Record<string, string> }[];
    };
    const i = m.layers.findIndex((l) => /dataset\.csv$/.test(l.annotations?.['org.opencontainers.image.title'] ?? ''));
    assert.ok(i >= 0, JSON.stringify(m.layers));
    const original = Buffer.from(await registry.fetchBlob(JOB_INPUTS_REPO, m.layers[i]!.digest)).toString('utf8');
    const forged = Buffer.from(original.replace(/\n1,/, '\n0,').replace(/,1\n/, ',0\n'));
    assert.notEqual(forged.toString(), original);
    m.layers[i] = {
      ...m.layers[i]!,
      ...(await registry.pushBlob(JOB_INPUTS_REPO, forged, 'application/octet-stream', m.layers[i]!.annotations)),
    };
    await registry.pushManifest(JOB_INPUTS_REPO, id, Buffer.from(JSON.stringify(m)), MediaType.ociManifest);
    // A worker on another host: the job's files are not in its data directory.
    await rm(join(api.dataDir, 'jobs', id, 'input'), { recursive: true, force: true });
    await rm(join(api.dataDir, 'jobs', id, 'uploads'), { recursive: true, force: true });

    const worker = await compose(
      loadConfig(
        {},
        {
          dataDir: api.dataDir,
          role: 'worker',
          runner: 'process',
          jobInputs: 'registry',
          workerId: 'other-host',
          // Signs with the platform key of the shared data directory (own keys: worker-keys.test.ts).
          workerKeys: 'platform',
          auth: 'off',
        },
      ),
      pino({ level: 'silent' }),
    );
    try {
      const done = await waitForState(api.url, id);
      assert.equal(done.status, 'failed');
      assert.match(
        done.reason ?? '',
        /inputs do not match what was submitted: dataset\.csv is sha256:[0-9a-f]{64}, sha256:[0-9a-f]{64} at submission/,
      );
      assert.equal(done.publication, undefined, 'nothing was published');
    } finally {
      await worker.close();
    }
  } finally {
    await api.close();
    await rm(work, { recursive: true, force: true });
  }
});
