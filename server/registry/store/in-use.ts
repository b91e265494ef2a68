import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Layout } from './layout.ts';

/**
 * Which processes have the embedded store open: one file each under `in-use/`, named `<host>.<pid>.<nonce>`,
 * removed on close. The garbage collector runs only when none is alive (a push racing the mark phase would
 * lose blobs). A file left by a process that is gone (a crash) on this host is recognised and removed.
 */
export async function claimStore(layout: Layout): Promise<() => Promise<void>> {
  await mkdir(layout.inUseDir, { recursive: true });
  const file = join(layout.inUseDir, `${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`);
  await writeFile(file, new Date().toISOString());
  return () => rm(file, { force: true });
}

/** The processes holding the store open: `<host>.<pid>` of each (stale files of this host are removed). */
export async function storeHolders(layout: Layout): Promise<string[]> {
  const names = await readdir(layout.inUseDir).catch(() => [] as string[]);
  const live: string[] = [];
  for (const name of names) {
    const m = /^(.+)\.(\d+)\.[0-9a-f]{8}$/.exec(name);
    if (!m) continue;
    const [, host, pid] = m as unknown as [string, string, string];
    if (host === hostname() && !alive(Number(pid))) {
      await rm(join(layout.inUseDir, name), { force: true });
      continue;
    }
    live.push(`${host}.${pid}`);
  }
  return live;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
