import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** 1 MiB reads: measured ~1070 MiB/s against ~780 MiB/s with the 64 KiB default (FACTS). */
const READ_CHUNK = 1024 * 1024;

/** Streamed SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file under `dir` (recursive), as POSIX paths relative to `dir`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** in-toto artifact map `{ "<prefix><path>": { sha256 } }` for every file under `dir`. */
export async function hashTree(dir: string, prefix = ''): Promise<Record<string, { sha256: string }>> {
  const out: Record<string, { sha256: string }> = {};
  for (const p of await listFiles(dir)) out[prefix + p] = { sha256: await sha256File(join(dir, p)) };
  return out;
}
