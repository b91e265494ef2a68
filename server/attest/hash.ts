import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { openNoFollow } from '../bounded-read.ts';

/** 1 MiB reads: measured ~1070 MiB/s against ~780 MiB/s with the 64 KiB default (FACTS). */
const READ_CHUNK = 1024 * 1024;

/**
 * Streamed SHA-256 of a regular file, hex. The file is opened without following a symbolic link (a job's
 * output is untrusted: a link to a host file must not be hashed, let alone published) and must be a regular
 * file; with `within`, its real path must lie under that directory. Throws otherwise, saying why.
 */
export async function sha256File(path: string, within?: string): Promise<string> {
  const fh = await openNoFollow(path, within);
  if (!fh) throw Object.assign(new Error(`${path} does not exist`), { code: 'ENOENT' });
  const h = createHash('sha256');
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false }))
      h.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** Every regular file under `dir` (recursive; symbolic links are neither listed nor followed), as POSIX paths relative to `dir`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * What under `dir` is neither a regular file nor a directory — symbolic links, FIFOs, sockets, devices — as
 * `path (kind)`, sorted: a job's output must hold none (the platform would not follow or read them).
 */
export async function specialEntries(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.isFile() && !e.isDirectory())
    .map((e) => {
      const kind = e.isSymbolicLink() ? 'symbolic link' : e.isFIFO() ? 'FIFO' : e.isSocket() ? 'socket' : 'device';
      return `${relative(dir, join(e.parentPath, e.name)).split(sep).join('/')} (${kind})`;
    })
    .sort();
}

/** in-toto artifact map `{ "<prefix><path>": { sha256 } }` for every regular file under `dir`. */
export async function hashTree(dir: string, prefix = ''): Promise<Record<string, { sha256: string }>> {
  const out: Record<string, { sha256: string }> = {};
  for (const p of await listFiles(dir)) out[prefix + p] = { sha256: await sha256File(join(dir, p), dir) };
  return out;
}
