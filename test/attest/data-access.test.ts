/**
 * The data-access record (server/attest/data-access.ts): a trainer-image job, run by podman through the docker
 * runner, reads one of its two input files; the signed link's byproducts and the AIBoM name that one and not the
 * other. The mechanism is access times on the job's /input volume, read after the run by a helper container.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { classify, inputsRead } from '../../server/attest/data-access.ts';
import type { JobOutcome } from '../../server/contracts.ts';
import { KEY_FILES, stepLayoutFile } from '../../server/attest/keys.ts';
import { linkFileName, type Link } from '../../server/attest/link.ts';
import { PLATFORM } from '../../server/identity.ts';
import { buildBusyboxImage } from '../helpers/busybox-image.ts';
import { submit, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { publishedAibom } from '../jobs/image-helpers.ts';
import { referrerBlob } from './job-kind-sample.ts';

const run = promisify(execFile);

test('classify: read means an access time after the modification time (inputs start with both at 0)', () => {
  assert.deepEqual(
    classify([
      ['b.csv', 0, 0],
      ['a.csv', 1_796_452_001_000, 0],
      ['sub/c.txt', 5, 5],
    ]),
    { read: ['a.csv'], unread: ['b.csv', 'sub/c.txt'] },
  );
});

test('inputsRead: /input files map to the inputs by the longest path they end with, named as uploaded', () => {
  const path = (p: string) => `/data/jobs/j1/input/${p}`;
  const r = inputsRead({
    inputs: [
      { role: 'model', name: 'my-model.json', path: path('model/model.json'), digest: '', size: 1 },
      { role: 'other', name: 'model.json', path: path('model.json'), digest: '', size: 1 },
      { role: 'dataset', name: 'd.csv', path: path('dataset.csv'), digest: '', size: 1 },
    ],
    inputAccess: { read: ['model/model.json', 'dataset.csv'], unread: ['model.json'] },
  } as unknown as JobOutcome);
  assert.deepEqual(r, { read: ['d.csv', 'my-model.json'], unread: ['model.json'] });
  assert.equal(inputsRead({ inputs: [] } as unknown as JobOutcome), undefined);
});

test('a trainer-image job that reads one of its two inputs: the link and the AIBoM name that one, not the other', async () => {
  const podman = await startPodman();
  const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath, auth: 'off' });
  const image = `${server.hostPort}/trainers/reader:1`;
  try {
    const local = await buildBusyboxImage();
    await run('skopeo', ['copy', '--dest-tls-verify=false', `containers-storage:${local}`, `docker://${image}`]);
    await run('podman', ['rmi', '-f', image]).catch(() => undefined);
    // Reads used.csv whole; only lists the directory (a stat, not a read) so ignored.csv is seen, never opened.
    const script = 'ls -l /input > /output/listing.txt && cat /input/used.csv > /output/copy.csv';
    const form = new FormData();
    form.set('image', image);
    form.set('command', JSON.stringify(['/bin/sh', '-c', script]));
    form.set('model_name', 'reader');
    form.set('model_version', '1');
    form.append('inputs', new Blob(['a,b\n1,2\n']), 'used.csv');
    form.append('inputs', new Blob(['c,d\n3,4\n']), 'ignored.csv');
    const { status, body } = await submit(server.url, form, '/developer/submit_job_by_image');
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitForState(server.url, body.job_id, undefined, 180_000);
    assert.equal(job.status, 'succeeded', job.reason);

    const pub = job.publication!;
    const linkRef = pub.attestations.find((a) => a.kind === 'in-toto-link')!;
    const link = JSON.parse(
      (await referrerBlob(server.services.registry.as(PLATFORM), pub.repository, linkRef.digest)).toString('utf8'),
    ) as Link;
    assert.equal(link.signed.name, 'train-image');
    assert.ok(link.signed.materials['inputs/ignored.csv'], 'both inputs are materials');
    assert.deepEqual(link.signed.byproducts['inputs-read'], ['inputs/used.csv']);
    // The record is part of what the platform signed: the link, as published, passes in-toto-verify.
    const dir = mkdtempSync(join(tmpdir(), 'data-access-link-'));
    writeFileSync(join(dir, linkFileName(link)), JSON.stringify(link));
    const keys = server.services.config.keysDir;
    const v = spawnSync(
      '/usr/bin/in-toto-verify',
      [
        '--layout',
        join(keys, stepLayoutFile('image')),
        '--layout-keys',
        join(keys, KEY_FILES.rootInToto),
        '--key-types',
        'ecdsa',
      ],
      { encoding: 'utf8', cwd: dir },
    );
    rmSync(dir, { recursive: true, force: true });
    assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);

    const bom = (await publishedAibom(server, job)) as unknown as {
      formulation: { workflows: { properties: { name: string; value: string }[] }[] }[];
    };
    const props = bom.formulation[0]!.workflows[0]!.properties;
    const prop = (n: string) => JSON.parse(props.find((p) => p.name === n)?.value ?? 'null') as string[] | null;
    assert.deepEqual(prop('aibomgen:data-access:read'), ['used.csv']);
    assert.deepEqual(prop('aibomgen:data-access:unread'), ['ignored.csv']);
  } finally {
    await server.close();
    await podman.stop();
  }
});
