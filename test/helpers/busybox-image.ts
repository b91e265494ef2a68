import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile, copyFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type TreeEntry, writeImageArchive } from '../../trainer/image/image-archive.ts';

const run = promisify(execFile);
const APPLETS = ['sh', 'cat', 'echo', 'ls', 'nc', 'wget', 'id', 'timeout', 'touch', 'mkdir', 'grep', 'sleep', 'head'];

/**
 * A tiny image for container tests, built offline: Debian's static busybox in an otherwise empty rootfs,
 * imported with `podman import` (no registry can be pulled from here). Returns the local tag.
 */
export async function buildBusyboxImage(tag = 'localhost/aibomgen-test-busybox:1'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'busybox-rootfs-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'input', 'output', 'proc', 'sys', 'dev']) await mkdir(join(root, d));
    await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
    await chmod(join(root, 'bin', 'busybox'), 0o755);
    for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
    await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = await run('tar', ['-C', root, '-cf', join(root, '..', `${root.split('/').pop()}.tar`), '.']);
    void tar;
    await run('podman', [
      'import',
      '--quiet',
      '--change',
      'CMD ["/bin/sh"]',
      '--change',
      'ENV PATH=/bin',
      join(root, '..', `${root.split('/').pop()}.tar`),
      tag,
    ]);
    return tag;
  } finally {
    await rm(`${root}.tar`, { force: true });
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The same busybox rootfs plus `extra` files, written as an image tarball (docker-archive) with the
 * platform's own deterministic writer: for tests that push an image to the registry without podman's storage.
 */
export async function buildBusyboxArchive(
  out: string,
  extra: TreeEntry[] = [],
  tag = 'localhost/aibomgen-test-busybox:x',
) {
  const entries: TreeEntry[] = [
    { path: '/bin/busybox', type: 'file', source: '/bin/busybox', mode: 0o755 },
    ...APPLETS.map((a): TreeEntry => ({ path: `/bin/${a}`, type: 'symlink', target: 'busybox' })),
    {
      path: '/etc/passwd',
      type: 'file',
      content: 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
    },
    { path: '/etc/group', type: 'file', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: '/tmp', type: 'dir', mode: 0o1777 },
    ...extra,
  ];
  return writeImageArchive(entries, { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] }, tag, out);
}
