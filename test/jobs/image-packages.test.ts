/**
 * Issue 17 (A): the environment is measured inside the job's image. A trainer image holding packages this
 * host does not have — the dist-info of a real PyPI wheel (tomli_w 1.2.0) and a dpkg status entry made from a
 * real Debian .deb's control fields (cowsay 3.03+dfsg2-8), both fetched by scripts/setup.sh — runs as a job;
 * the runner reads the image's package databases from the container's filesystem after the run (no code of
 * the image runs), and the AIBoM lists exactly those packages with their versions, not the host's, and not
 * the platform trainer's hard-coded TF.js libraries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PLATFORM } from '../../server/identity.ts';
import { pushImageArchive } from '../../server/jobs/runners/image-push.ts';
import type { TreeEntry } from '../../trainer/image/image-archive.ts';
import { buildBusyboxArchive } from '../helpers/busybox-image.ts';
import { submit, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { publishedAibom } from './image-helpers.ts';

const run = promisify(execFile);
const FIXTURES = join(process.cwd(), '.tools', 'fixtures');
const WHEEL = join(FIXTURES, 'tomli_w-1.2.0-py3-none-any.whl');
const DEB = join(FIXTURES, 'cowsay_3.03+dfsg2-8_all.deb');
const SITE = '/usr/local/lib/python3.11/site-packages';

const podman = await startPodman();
const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-image-packages-'));
test.after(async () => {
  await server.close();
  await podman.stop();
  await rm(work, { recursive: true, force: true });
});

/** The wheel's dist-info files and a dpkg status holding the .deb's control fields, as image entries. */
async function packageEntries(): Promise<TreeEntry[]> {
  const unpacked = join(work, 'wheel');
  await run('python3', [
    '-c',
    'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])',
    WHEEL,
    unpacked,
  ]);
  const distInfo = (await readdir(unpacked)).find((n) => n.endsWith('.dist-info'))!;
  const entries: TreeEntry[] = (await readdir(join(unpacked, distInfo))).map((f) => ({
    path: `${SITE}/${distInfo}/${f}`,
    type: 'file',
    source: join(unpacked, distInfo, f),
  }));
  const control = (await run('dpkg-deb', ['-f', DEB])).stdout.trimEnd();
  // dpkg's status file is the control stanza with the installed state added (as dpkg writes it on install).
  const stanza = control.replace(/^(Package: .*)$/m, '$1\nStatus: install ok installed');
  entries.push({ path: '/var/lib/dpkg/status', type: 'file', content: `${stanza}\n\n` });
  entries.push({ path: '/etc/os-release', type: 'file', content: await readFile('/etc/os-release') });
  return entries;
}

test('the AIBoM of an image job lists the packages in the image (PyPI wheel, Debian package), not the host', async (t) => {
  if (!existsSync(WHEEL) || !existsSync(DEB)) {
    t.skip(`fixtures missing (scripts/setup.sh fetches them): ${WHEEL}, ${DEB}`);
    return;
  }
  // Neither package is on this host: whatever the AIBoM lists of them came from the image.
  assert.doesNotMatch(await readFile('/var/lib/dpkg/status', 'utf8'), /^Package: cowsay$/m);
  await assert.rejects(run('python3', ['-c', 'import tomli_w']));

  const archive = join(work, 'pkgs.tar');
  await buildBusyboxArchive(archive, await packageEntries());
  const oci = server.services.registry.as(PLATFORM);
  const pushed = await pushImageArchive(oci, 'trainers/pkgs', archive, '1');
  const image = `${server.hostPort}/trainers/pkgs:1`;

  const form = new FormData();
  form.set('image', image);
  form.set('command', JSON.stringify(['sh', '-c', 'echo trained > /output/model.txt']));
  form.set('model_name', 'pkgs');
  form.set('model_version', '1');
  const { status, body } = await submit(server.url, form, '/developer/submit_job_by_image');
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(server.url, body.job_id, undefined, 120_000);
  assert.equal(job.status, 'succeeded', job.reason);
  assert.equal(job.runner?.imageDigest, pushed.manifestDigest, 'the image that ran is the one pushed');

  const aibom = await publishedAibom(server, job);
  const purls = aibom.components.map((c) => c.purl).filter((p): p is string => !!p);
  const wheel = aibom.components.find((c) => c.purl === 'pkg:pypi/tomli-w@1.2.0');
  assert.ok(wheel, `the wheel is listed: ${purls.join(' ')}`);
  assert.equal(wheel.name, 'tomli_w');
  assert.equal(wheel.version, '1.2.0');
  assert.deepEqual(wheel.properties, [
    { name: 'aibomgen:image_path', value: `${SITE}/tomli_w-1.2.0.dist-info/METADATA` },
  ]);
  const os = /^ID=(.*)$/m.exec(await readFile('/etc/os-release', 'utf8'))?.[1] ?? 'debian';
  const version = /^VERSION_ID="?([^"\n]*)"?$/m.exec(await readFile('/etc/os-release', 'utf8'))?.[1];
  const deb = aibom.components.find((c) => c.name === 'cowsay');
  assert.equal(deb?.version, '3.03+dfsg2-8');
  assert.equal(deb?.purl, `pkg:deb/${os}/cowsay@3.03%2Bdfsg2-8?arch=all&distro=${os}-${version}`);
  assert.ok(aibom.components.some((c) => c.type === 'operating-system' && c.name === os));
  // Only what the image holds: no package of this host, none of the platform trainer's hard-coded libraries.
  assert.deepEqual(purls.filter((p) => p.startsWith('pkg:deb/') || p.startsWith('pkg:pypi/')).sort(), [
    deb!.purl!,
    'pkg:pypi/tomli-w@1.2.0',
  ]);
  assert.ok(!aibom.components.some((c) => c.name.startsWith('@tensorflow/')), 'no hard-coded TF.js library');
});
