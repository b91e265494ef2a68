import { open } from 'node:fs/promises';

/**
 * Reads of files a job wrote (metrics.json, error.json, its logs): their size is the job's choice, so the
 * platform reads a bounded part and never the whole of an arbitrarily large file.
 */

/** A JSON object from `path` when it is at most `maxBytes`: undefined when absent, too big, not JSON or not an object. */
export async function readJsonObject(path: string, maxBytes: number): Promise<Record<string, unknown> | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    const v: unknown = JSON.parse(buf.subarray(0, bytesRead).toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

/** The last `maxBytes` of a text file ('' when absent); a character cut at the start is dropped. */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  const fh = await open(path, 'r').catch(() => undefined);
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
