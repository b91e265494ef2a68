/**
 * The PoC flow (submit_job_by_image) with a hostile job, through a real engine: a trainer image pushed to
 * our registry, pulled by the runner, running a script that tries to reach the network, write outside
 * /output, read the server's data directory and keys, and fork-bomb. Every attempt must fail, the job
 * must end, and the platform must report it without harm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { buildBusyboxImage } from '../helpers/busybox-image.ts';
import { submit, waitForState } from '../helpers/jobs.ts';
import { aibomgen, cliHome } from '../cli/run.ts';
import { JOB_LABEL } from '../../server/jobs/runners/docker.ts';

const run = promisify(execFile);
const podman = await startPodman();
const server = await startTestServer({
  runner: 'docker',
  dockerSocket: podman.socketPath,
  jobLogBytes: 1 << 20,
  jobOutputBytes: 2 << 20,
});
const local = await buildBusyboxImage();
const image = `${server.hostPort}/trainers/busybox:1`;
test.after(async () => {
  await run('podman', ['rmi', '-f', image]).catch(() => undefined);
  await server.close();
  await podman.stop();
});

// Each probe prints "<name>: DENIED" when the attempt failed, "<name>: ALLOWED <detail>" when it worked.
const SCRIPT = `
DATA="$1"
probe() { name="$1"; shift; if "$@" >/dev/null 2>&1; then echo "$name: ALLOWED"; else echo "$name: DENIED"; fi; }
{
echo "uid: $(id -u)"
grep CapEff /proc/self/status
probe net-host-server nc -w 2 10.0.2.2 80
probe net-loopback-server sh -c "echo GET / | nc -w 2 $SERVER_HOST $SERVER_PORT"
probe net-outside wget -q -T 3 -O /dev/null http://1.1.1.1/
probe write-root touch /evil
probe write-etc touch /etc/evil
probe write-bin touch /bin/evil
probe write-input touch /input/evil
probe read-data-dir ls "$DATA"
probe read-platform-key cat "$DATA/keys/platform.key"
probe read-host-etc cat /etc/shadow
# Positive controls: the probes themselves work (a missing tool would otherwise read as "DENIED").
probe control-write-output touch /output/ok
probe control-read-input cat /input/evil.sh
probe control-tools sh -c "command -v nc && command -v wget && command -v touch"
probe control-loopback-listen sh -c "nc -l -p 9999 & sleep 0.3; echo hi | nc -w 1 127.0.0.1 9999"
} > /output/report.txt 2>&1
# Fork bomb: bounded by the container's pids limit; killed after 5 s. Only shell builtins after this.
timeout -s KILL 5 sh -c 'b() { b | b & }; b' >/dev/null 2>&1
echo "forkbomb: survived" >> /output/report.txt
exit 0
`;

test('a hostile image job: network, writes outside /output, the data dir, keys and a fork bomb all fail', async () => {
  // The image reaches our registry first (skopeo from podman's storage), then the runner pulls it from there.
  await run('skopeo', ['copy', '--dest-tls-verify=false', `containers-storage:${local}`, `docker://${image}`]);
  await run('podman', ['rmi', '-f', image]).catch(() => undefined);

  const form = new FormData();
  form.set('image', image);
  form.set('command', JSON.stringify(['sh', '/input/evil.sh', server.dataDir]));
  form.set('model_name', 'evil');
  form.set('model_version', '1');
  form.set(
    'inputs',
    new Blob([SCRIPT.replace('$SERVER_HOST', '127.0.0.1').replace('$SERVER_PORT', server.hostPort.split(':')[1]!)]),
    'evil.sh',
  );
  const { status, body } = await submit(server.url, form, '/developer/submit_job_by_image');
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(server.url, body.job_id, undefined, 120_000);
  assert.equal(job.status, 'succeeded', job.reason);
  assert.equal(job.runner?.kind, 'docker');
  assert.equal(job.runner?.image, image);
  assert.match(job.runner?.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(job.status, 'succeeded', job.reason);

  const report = await (await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/report.txt`)).text();
  assert.match(report, /^uid: 65534$/m);
  assert.match(report, /^CapEff:\s+0+$/m);
  for (const probe of [
    'net-host-server',
    'net-loopback-server',
    'net-outside',
    'write-root',
    'write-etc',
    'write-bin',
    'write-input',
    'read-data-dir',
    'read-platform-key',
    'read-host-etc',
  ]) {
    assert.match(report, new RegExp(`^${probe}: DENIED$`, 'm'), `${probe} was not denied:\n${report}`);
  }
  for (const control of ['control-write-output', 'control-read-input', 'control-tools'])
    assert.match(report, new RegExp(`^${control}: ALLOWED$`, 'm'), report);
  assert.match(report, /^forkbomb: survived$/m);
  // No harm: nothing written into the input dir, the key is intact, the server answers, no container left.
  assert.equal(existsSync(`${server.dataDir}/jobs/${job.job_id}/input/evil`), false);
  assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  assert.deepEqual(
    await podman.docker.listContainers({ all: true, filters: { label: [`${JOB_LABEL}=${job.job_id}`] } }),
    [],
  );
});

test('aibomgen submit --image runs the trainer image with input files, follows it and prints the published job', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-cli-image-'));
  writeFileSync(join(dir, 'words.txt'), 'alpha beta gamma\n');
  const { env } = cliHome();
  const r = await aibomgen(
    [
      '--server',
      server.url,
      'submit',
      '--image',
      image,
      '--command',
      JSON.stringify(['sh', '-c', 'wc -w < /input/words.txt > /output/count.txt']),
      '--input',
      join(dir, 'words.txt'),
      '--name',
      'wordcount',
      '--model-version',
      '1',
      '--json',
    ],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  const job = JSON.parse(r.stdout) as {
    job_id: string;
    status: string;
    runner?: { image?: string };
    publication?: { ref: string };
  };
  assert.equal(job.status, 'succeeded');
  assert.equal(job.runner?.image, image);
  assert.equal(job.publication?.ref, `${server.hostPort}/models/wordcount:1`);
  assert.equal(
    (await (await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/count.txt`)).text()).trim(),
    '3',
  );
  // Flags that do not fit the image flow are refused before anything is sent (exit 2).
  const bad = await aibomgen(
    ['--server', server.url, 'submit', '--image', image, '--definition', join(dir, 'words.txt')],
    { env },
  );
  assert.equal(bad.status, 2, bad.stderr);
  const none = await aibomgen(['--server', server.url, 'submit', '--dataset', join(dir, 'words.txt')], { env });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /--model, --definition \(or name a trainer image with --image\)/);
});

test('a job flooding its logs and writing a huge metrics.json: logs cut at the cap, log events capped, metrics ignored', async () => {
  const form = new FormData();
  form.set('image', image);
  form.set(
    'command',
    JSON.stringify([
      'sh',
      '-c',
      [
        'yes aibomgen-flood-line | head -n 300000',
        `printf '{"accuracy":0.5,"pad":"' > /output/metrics.json`,
        `head -c 400000 /dev/zero | tr '\\0' x >> /output/metrics.json`,
        `printf '"}' >> /output/metrics.json`,
        'echo done > /output/done.txt',
      ].join('; '),
    ]),
  );
  form.set('model_name', 'flood');
  const { status, body } = await submit(server.url, form, '/developer/submit_job_by_image');
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(server.url, body.job_id, undefined, 120_000);
  assert.equal(job.status, 'succeeded', job.reason);
  const stdout = await readFile(join(server.dataDir, 'jobs', job.job_id, 'stdout.log'), 'utf8');
  assert.ok(stdout.length <= (1 << 20) + 200, `stdout.log is ${stdout.length} bytes`);
  assert.match(stdout, /\[aibomgen: log cut at 1048576 bytes/);
  const logEvents = await server.services.db
    .selectFrom('job_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('job_id', '=', job.job_id)
    .where('type', '=', 'log')
    .executeTakeFirstOrThrow();
  assert.equal(Number(logEvents.n), 10_000);
  assert.equal((job as { metrics?: unknown }).metrics, undefined, 'a 400 KB metrics.json is not read');
});

test('a job writing past AIBOMGEN_JOB_OUTPUT_BYTES is stopped while it runs and fails, its output removed', async () => {
  const form = new FormData();
  form.set('image', image);
  form.set(
    'command',
    JSON.stringify(['sh', '-c', 'head -c 3000000 /dev/zero > /output/big.bin; sleep 60; echo late > /output/late.txt']),
  );
  const t0 = Date.now();
  const { body } = await submit(server.url, form, '/developer/submit_job_by_image');
  const job = await waitForState(server.url, body.job_id, undefined, 60_000);
  assert.equal(job.status, 'failed');
  assert.match(job.reason ?? '', /output over the limit: more than 2097152 bytes/);
  assert.ok(Date.now() - t0 < 30_000, `stopped after ${Date.now() - t0} ms, not when the command ended`);
  assert.equal(existsSync(join(server.dataDir, 'jobs', job.job_id, 'output', 'big.bin')), false);
  assert.deepEqual(
    await podman.docker.listContainers({ all: true, filters: { label: [`${JOB_LABEL}=${job.job_id}`] } }),
    [],
  );
});

test('an image the registry does not have fails the job with the pull error', async () => {
  const form = new FormData();
  form.set('image', `${server.hostPort}/trainers/missing:1`);
  form.set('command', 'sh -c true');
  const { body } = await submit(server.url, form, '/developer/submit_job_by_image');
  const job = await waitForState(server.url, body.job_id, undefined, 60_000);
  assert.equal(job.status, 'failed');
  assert.match(job.reason ?? '', /could not be pulled/);
});

test('a job searching its container filesystem and environment for private keys finds none (issue 5)', async () => {
  // Built at run time so the script itself does not contain the pattern it looks for.
  const search = String.raw`
P="PRIVATE"
DIRS=""; for d in /*; do case "$d" in /proc|/sys|/dev) ;; *) DIRS="$DIRS $d" ;; esac; done
{
echo "env-hits: $(env | grep -c -i -e "$P KEY" -e AIBOMGEN -e platform.key)"
echo "file-hits: $(grep -rl -e "$P KEY" $DIRS 2>/dev/null | head -20 | tr '\n' ' ')"
echo "key-files: $(ls -R $DIRS 2>/dev/null | grep -c -e '\.key$' -e '\.pem$')"
echo "searched: $(ls -R $DIRS 2>/dev/null | wc -l)"
} > /output/search.txt
`;
  const form = new FormData();
  form.set('image', image);
  form.set('command', JSON.stringify(['sh', '/input/search.sh']));
  form.set('inputs', new Blob([search]), 'search.sh');
  const { body } = await submit(server.url, form, '/developer/submit_job_by_image');
  const job = await waitForState(server.url, body.job_id, undefined, 120_000);
  assert.equal(job.status, 'succeeded', job.reason);
  const report = await (await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/search.txt`)).text();
  assert.match(report, /^env-hits: 0$/m, report);
  assert.match(report, /^file-hits: $/m, report);
  assert.match(report, /^key-files: 0$/m, report);
  assert.ok(Number(/^searched: (\d+)$/m.exec(report)?.[1]) > 20, `the search saw the filesystem: ${report}`);
});
