/**
 * Crash recovery: the server (a child process) is killed with SIGKILL while a job trains in a container.
 * After a restart on the same data directory the job is `failed: interrupted`, its container is gone, and
 * no partial artifacts are listed. The same for the process runner (its orphaned trainer is killed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactListResponse } from '../../schema/api.ts';
import { JOB_LABEL } from '../../server/jobs/runners/docker.ts';
import { startPodman } from '../helpers/podman.ts';
import { submit, tabularForm, waitForFirstEpoch, waitForState } from '../helpers/jobs.ts';
import { freePort } from '../helpers/net.ts';

const podman = await startPodman();
const work = await mkdtemp(join(tmpdir(), 'aibomgen-restart-'));
test.after(async () => {
  await podman.stop();
  await rm(work, { recursive: true, force: true });
});

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    // Auth off: this test is about crashes, and its helpers call the API without a token.
    env: { ...process.env, AIBOMGEN_AUTH: 'off', ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become ready');
}

async function killHard(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(undefined) : child.once('exit', r)));
}

for (const runner of ['docker', 'process'] as const) {
  test(`kill -9 during a ${runner} job → after restart: failed "interrupted", nothing left running, no artifacts`, async () => {
    const dataDir = join(work, runner);
    const env = { AIBOMGEN_DATA_DIR: dataDir, AIBOMGEN_RUNNER: runner, AIBOMGEN_DOCKER_SOCKET: podman.socketPath };
    const first = await startServer(env);
    const { body } = await submit(
      first.url,
      await tabularForm(work, { epochs: 5000, samples: 2000, name: `crash-${runner}` }),
    );
    await waitForFirstEpoch(first.url, body.job_id);
    const containers = async () =>
      (await podman.docker.listContainers({ all: true, filters: { label: [`${JOB_LABEL}=${body.job_id}`] } })).length;
    if (runner === 'docker') assert.equal(await containers(), 1, 'the job container runs');
    await killHard(first.child);
    if (runner === 'docker') assert.equal(await containers(), 1, 'the container outlives the killed server');

    const second = await startServer(env);
    try {
      const job = await waitForState(second.url, body.job_id);
      assert.equal(job.status, 'failed');
      assert.equal(job.reason, 'interrupted');
      assert.equal(await containers(), 0, 'no container left');
      const list = (await (
        await fetch(`${second.url}/developer/job_artifacts/${body.job_id}`)
      ).json()) as ArtifactListResponse;
      assert.deepEqual(list.artifacts, []);
      assert.deepEqual(await readdir(join(dataDir, 'jobs', body.job_id)).then((n) => n.includes('output')), false);
      // The orphaned trainer process (process runner) is gone too: no process still names this job's dir.
      const procs = await readdir('/proc');
      for (const p of procs.filter((x) => /^\d+$/.test(x))) {
        const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
        assert.ok(
          !cmd.includes(join(dataDir, 'jobs', body.job_id)),
          `process ${p} still runs the job: ${cmd.replace(/\0/g, ' ')}`,
        );
      }
      // The server still works: a new job can be queued.
      assert.equal(
        (await submit(second.url, await tabularForm(work, { epochs: 1, name: `after-${runner}` }))).status,
        202,
      );
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  });
}
