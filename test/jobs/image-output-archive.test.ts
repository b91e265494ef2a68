/**
 * The docker runner's copy of /output out of the engine (getArchive → extractDirectory) and of the inputs in
 * (packDirectory), on hand-made archives shaped like the engines' (Docker names the root `output/`, podman 4.3
 * names it `/`): regular files and directories are written; links, devices and names outside the directory
 * are refused and named, never created; the byte cap stops the copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { extractDirectory, packDirectory } from '../../server/jobs/runners/job-files.ts';

type Entry = tar.Headers & { body?: string };

function archive(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry(h, body ?? '');
  pack.finalize();
  return pack;
}

const work = await mkdtemp(join(tmpdir(), 'aibomgen-output-archive-'));
test.after(() => rm(work, { recursive: true, force: true }));

for (const root of ['output/', '/']) {
  test(`an /output archive rooted at "${root}": files copied, links and escapes refused and named`, async () => {
    const dest = join(work, `dest-${root === '/' ? 'podman' : 'docker'}`);
    await mkdir(dest);
    const r = await extractDirectory(
      archive([
        { name: root, type: 'directory' },
        { name: `${root}model/`, type: 'directory' },
        { name: `${root}model/weights.bin`, type: 'file', body: 'weights' },
        { name: `${root}metrics.json`, type: 'symlink', linkname: '/etc/shadow' },
        { name: `${root}hard`, type: 'link', linkname: `${root}model/weights.bin` },
        { name: `${root}../escape.txt`, type: 'file', body: 'x' },
        { name: `${root}fifo`, type: 'fifo' },
      ]),
      dest,
      1 << 20,
    );
    assert.equal(r.over, false);
    assert.equal(r.bytes, 7);
    assert.deepEqual(
      r.special,
      [
        `${root}../escape.txt (name outside /output)`,
        'fifo (FIFO)',
        'hard (hard link)',
        'metrics.json (symbolic link)',
      ].sort(),
    );
    assert.equal(await readFile(join(dest, 'model', 'weights.bin'), 'utf8'), 'weights');
    assert.deepEqual((await readdir(dest)).sort(), ['model']);
    assert.equal(existsSync(join(work, 'escape.txt')), false);
  });
}

test('the byte cap stops the copy and says so', async () => {
  const dest = join(work, 'capped');
  await mkdir(dest);
  const r = await extractDirectory(
    archive([
      { name: 'output/', type: 'directory' },
      { name: 'output/a.bin', type: 'file', body: 'a'.repeat(600) },
      { name: 'output/b.bin', type: 'file', body: 'b'.repeat(600) },
    ]),
    dest,
    1000,
  );
  assert.equal(r.over, true);
  assert.ok(r.bytes > 1000, String(r.bytes));
  assert.equal(existsSync(join(dest, 'b.bin')), false);
});

test('packDirectory: the inputs as root-owned files and directories; links skipped', async () => {
  const src = join(work, 'input');
  await mkdir(join(src, 'model'), { recursive: true });
  await writeFile(join(src, 'model', 'model.json'), '{}');
  await writeFile(join(src, 'dataset.csv'), 'a,b\n');
  const { symlink } = await import('node:fs/promises');
  await symlink('/etc/passwd', join(src, 'link'));
  const seen: string[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, s, next) => {
    seen.push(`${h.name} ${h.type} ${h.uid}:${h.gid} ${(h.mode ?? 0).toString(8)}`);
    s.on('end', () => next());
    s.resume();
  });
  const done = new Promise<void>((r) => ex.on('finish', r));
  packDirectory(src).pipe(ex);
  await done;
  assert.deepEqual(seen, [
    './ directory 0:0 755',
    'dataset.csv file 0:0 644',
    'model/ directory 0:0 755',
    'model/model.json file 0:0 644',
  ]);
});
