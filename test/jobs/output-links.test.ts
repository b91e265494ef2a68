/**
 * A job's output is read without following links. A trainer image (run by podman through the docker runner)
 * leaves /output/metrics.json as a symbolic link to a host file holding a secret, another link to it, and a
 * link to a host directory: the job fails saying which entries it refused, job_status carries no byte of the
 * host file (no metrics from it), and the artifacts API neither lists nor serves anything through a link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readJobJson, readTail } from '../../server/bounded-read.ts';
import { sha256File, specialEntries } from '../../server/attest/hash.ts';
import { buildBusyboxImage } from '../helpers/busybox-image.ts';
import { submit, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const SECRET = `TOP-SECRET-${process.pid}-${Date.now()}`;

test('the readers refuse links: metrics.json as a link to a host file is not read, and says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-links-'));
  try {
    const host = join(dir, 'host-secret.json');
    writeFileSync(host, JSON.stringify({ secret: SECRET }));
    mkdirSync(join(dir, 'output'));
    symlinkSync(host, join(dir, 'output', 'metrics.json'));
    const r = await readJobJson(join(dir, 'output', 'metrics.json'), 1 << 20);
    assert.equal(r.value, undefined);
    assert.match('problem' in r ? r.problem : '', /symbolic link \(not followed\)/);
    assert.equal(await readTail(join(dir, 'output', 'metrics.json'), 1 << 20), '');
    await assert.rejects(sha256File(join(dir, 'output', 'metrics.json')), /symbolic link/);
    assert.deepEqual(await specialEntries(join(dir, 'output')), ['metrics.json (symbolic link)']);
    // The same file, regular: read.
    rmSync(join(dir, 'output', 'metrics.json'));
    writeFileSync(join(dir, 'output', 'metrics.json'), '{"loss":1}');
    assert.deepEqual((await readJobJson(join(dir, 'output', 'metrics.json'), 1 << 20)).value, { loss: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an image job whose /output/metrics.json links to a host file fails, naming it; no host byte comes back', async () => {
  const podman = await startPodman();
  const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath, auth: 'off' });
  const image = `${server.hostPort}/trainers/links:1`;
  const hostDir = mkdtempSync(join(tmpdir(), 'aibomgen-host-'));
  try {
    const secretFile = join(hostDir, 'secret.json');
    writeFileSync(secretFile, JSON.stringify({ secret: SECRET, loss: 0.1 }));
    writeFileSync(join(hostDir, 'notes.txt'), SECRET);
    const local = await buildBusyboxImage();
    await run('skopeo', ['copy', '--dest-tls-verify=false', `containers-storage:${local}`, `docker://${image}`]);
    await run('podman', ['rmi', '-f', image]).catch(() => undefined);

    // Link targets are host paths: the container cannot read them, but a server following the links would.
    const script = [
      `busybox ln -s ${secretFile} /output/metrics.json`,
      `busybox ln -s ${secretFile} /output/leak.txt`,
      `busybox ln -s ${hostDir} /output/hostdir`,
      'echo regular > /output/ok.txt',
    ].join(' && ');
    const form = new FormData();
    form.set('image', image);
    form.set('command', JSON.stringify(['/bin/sh', '-c', script]));
    form.set('model_name', 'links');
    form.set('model_version', '1');
    form.set('inputs', new Blob(['unused']), 'unused.txt');
    const { status, body } = await submit(server.url, form, '/developer/submit_job_by_image');
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitForState(server.url, body.job_id, undefined, 120_000);

    assert.equal(job.status, 'failed');
    assert.match(job.reason ?? '', /metrics\.json \(symbolic link\)/);
    assert.match(job.reason ?? '', /hostdir \(symbolic link\)/);
    assert.match(job.reason ?? '', /links are not followed/);
    assert.equal(job.metrics, undefined, 'no metrics read through the link');
    const statusText = await (await fetch(`${server.url}/developer/job_status/${job.job_id}`)).text();
    assert.doesNotMatch(statusText, new RegExp(SECRET));

    const listing = (await (await fetch(`${server.url}/developer/job_artifacts/${job.job_id}`)).json()) as {
      artifacts: { name: string }[];
    };
    assert.deepEqual(
      listing.artifacts.map((a) => a.name),
      ['ok.txt'],
    );
    for (const name of ['metrics.json', 'leak.txt', 'hostdir/notes.txt', 'hostdir/secret.json']) {
      const res = await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/${name}`);
      const text = await res.text();
      assert.equal(res.status, 404, `${name}: ${text}`);
      assert.doesNotMatch(text, new RegExp(SECRET));
    }
    assert.equal(await (await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/ok.txt`)).text(), 'regular\n');
  } finally {
    await run('podman', ['rmi', '-f', image]).catch(() => undefined);
    await server.close();
    await podman.stop();
    rmSync(hostDir, { recursive: true, force: true });
  }
});
