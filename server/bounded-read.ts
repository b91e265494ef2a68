import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import { sep } from 'node:path';

/**
 * Reads of files a job wrote (metrics.json, error.json, its logs, its outputs): their size and their very
 * nature are the job's choice. A job can leave a symbolic link to a host file, a FIFO that blocks a reader, or
 * a file of any size, so the platform opens them with O_NOFOLLOW | O_NONBLOCK, reads only regular files, and
 * reads a bounded part, never the whole of an arbitrarily large file.
 */

/** Why a job's file was not read (a symbolic link is not followed; only regular files are read). */
export class JobFileRefused extends Error {
  constructor(
    readonly path: string,
    readonly why: 'symlink' | 'not-a-file' | 'outside',
  ) {
    super(
      why === 'symlink'
        ? `${path} is a symbolic link (not followed)`
        : why === 'outside'
          ? `${path} resolves outside the job's directory (not read)`
          : `${path} is not a regular file (not read)`,
    );
  }
}

/**
 * Opens `path` for reading without following a symbolic link in its last component, and only when it is a
 * regular file; with `within`, the opened file's real path (from the descriptor: no race with a rename) must
 * lie under that directory, so a linked directory earlier in the path is refused too. Undefined when absent;
 * JobFileRefused when it is there but may not be read.
 */
export async function openNoFollow(path: string, within?: string): Promise<FileHandle | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP' || code === 'EMLINK') throw new JobFileRefused(path, 'symlink');
    throw e;
  }
  try {
    if (!(await fh.stat()).isFile()) throw new JobFileRefused(path, 'not-a-file');
    if (within) {
      const root = await realpath(within);
      const real = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => realpath(path));
      if (!real.startsWith(root + sep)) throw new JobFileRefused(path, 'outside');
    }
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** A job JSON file: its object, or why there is none (absent, refused, too big, not a JSON object). */
export async function readJobJson(
  path: string,
  maxBytes: number,
): Promise<{ value: Record<string, unknown> } | { value?: undefined; problem: string }> {
  let fh: FileHandle | undefined;
  try {
    fh = await openNoFollow(path);
  } catch (e) {
    return { problem: e instanceof Error ? e.message : String(e) };
  }
  if (!fh) return { problem: `${path} is absent` };
  try {
    const st = await fh.stat();
    if (st.size > maxBytes) return { problem: `${path} is over ${maxBytes} bytes (not read)` };
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    const v: unknown = JSON.parse(buf.subarray(0, bytesRead).toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? { value: v as Record<string, unknown> }
      : { problem: `${path} is not a JSON object` };
  } catch {
    return { problem: `${path} is not JSON` };
  } finally {
    await fh.close();
  }
}

/** A JSON object from `path` when it is a regular file of at most `maxBytes`: undefined otherwise (links too). */
export async function readJsonObject(path: string, maxBytes: number): Promise<Record<string, unknown> | undefined> {
  return (await readJobJson(path, maxBytes)).value;
}

/** The last `maxBytes` of a text file ('' when absent or not a regular file); a character cut at the start is dropped. */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  const fh = await openNoFollow(path).catch(() => undefined);
  if (!fh) return '';
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, size - len);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    return len < size ? text.replace(/^\uFFFD+/, '') : text;
  } finally {
    await fh.close();
  }
}
