/**
 * Unzips an untrusted archive into memory with fflate's streaming Unzip, refusing path traversal and zip
 * bombs: caps on entry count, total uncompressed bytes and the uncompressed/compressed ratio, counted on the
 * bytes actually inflated (headers can lie).
 */
import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { TrainerError } from '../errors.ts';

export interface UnzipLimits {
  maxEntries: number;
  maxTotalBytes: number;
  maxRatio: number;
}

export const defaultUnzipLimits: UnzipLimits = {
  maxEntries: Number(process.env.AIBOMGEN_TRAINER_ZIP_MAX_ENTRIES ?? 200_000),
  maxTotalBytes: Number(process.env.AIBOMGEN_TRAINER_ZIP_MAX_BYTES ?? 2 * 1024 ** 3),
  maxRatio: Number(process.env.AIBOMGEN_TRAINER_ZIP_MAX_RATIO ?? 200),
};

/** True for names that would escape the extraction root. */
export function unsafeEntryName(name: string): boolean {
  return (
    name.startsWith('/') ||
    name.includes('\\') ||
    /^[a-zA-Z]:/.test(name) ||
    name.split('/').includes('..') ||
    name.includes('\0')
  );
}

export async function unzipSafely(
  file: string,
  label: string,
  limits = defaultUnzipLimits,
): Promise<Map<string, Uint8Array>> {
  // The archive is streamed through the inflater; only the entries' contents are kept.
  const size = (await stat(file)).size;
  const head = Buffer.alloc(4);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (size < 22 || head.readUInt32LE(0) !== 0x04034b50) {
    throw new TrainerError('corrupt_archive', `${label} is not a zip archive`, 'dataset');
  }
  const out = new Map<string, Uint8Array>();
  let total = 0;
  let entries = 0;
  let failure: TrainerError | undefined;
  const pending = new Set<string>();
  const fail = (e: TrainerError) => {
    failure ??= e;
  };
  const uz = new Unzip((f) => {
    if (failure) return;
    if (++entries > limits.maxEntries)
      return fail(new TrainerError('unsafe_archive', `${label} has more than ${limits.maxEntries} entries`, 'dataset'));
    if (unsafeEntryName(f.name))
      return fail(new TrainerError('unsafe_archive', `${label} entry '${f.name}' escapes the archive root`, 'dataset'));
    if (f.name.endsWith('/')) return;
    const parts: Uint8Array[] = [];
    pending.add(f.name);
    f.ondata = (err, data, final) => {
      if (failure) return;
      if (err)
        return fail(new TrainerError('corrupt_archive', `${label} entry '${f.name}': ${err.message}`, 'dataset'));
      total += data.length;
      if (total > limits.maxTotalBytes)
        return fail(
          new TrainerError('unsafe_archive', `${label} inflates to more than ${limits.maxTotalBytes} bytes`, 'dataset'),
        );
      if (total > limits.maxRatio * size) {
        return fail(
          new TrainerError(
            'unsafe_archive',
            `${label} inflates more than ${limits.maxRatio}× its size (zip bomb?)`,
            'dataset',
          ),
        );
      }
      parts.push(data);
      if (final) {
        pending.delete(f.name);
        out.set(f.name, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      }
    };
    try {
      f.start();
    } catch (e) {
      fail(new TrainerError('corrupt_archive', `${label} entry '${f.name}': ${(e as Error).message}`, 'dataset'));
    }
  });
  uz.register(UnzipInflate);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      uz.push(chunk as Buffer);
      if (failure) break;
    }
    if (!failure) uz.push(new Uint8Array(0), true);
  } catch (e) {
    fail(new TrainerError('corrupt_archive', `${label} is corrupt: ${(e as Error).message}`, 'dataset'));
  }
  if (failure) throw failure;
  if (pending.size)
    throw new TrainerError(
      'corrupt_archive',
      `${label} is truncated: entry '${[...pending][0]}' is incomplete`,
      'dataset',
    );
  return out;
}

/**
 * Unzips an untrusted archive into `dir` as it streams: each entry's inflated bytes go to its file as they come
 * (memory stays a few buffers, whatever the archive holds), under the same caps as `unzipSafely`, counted on
 * the bytes actually inflated. The archive is read in 16 KiB slices (a few MiB inflated each at most) and the
 * event loop gets a turn between them, so a bomb cannot block the server for long before a cap stops it. Returns
 * the entry names written (directories left out). On any failure the caller removes `dir`.
 */
export async function unzipToDirectory(
  file: string,
  dir: string,
  label: string,
  limits = defaultUnzipLimits,
): Promise<string[]> {
  const size = (await stat(file)).size;
  const head = Buffer.alloc(4);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (size < 22 || head.readUInt32LE(0) !== 0x04034b50)
    throw new TrainerError('corrupt_archive', `${label} is not a zip archive`, 'dataset');
  const written: string[] = [];
  const open_ = new Map<string, number>();
  let total = 0;
  let entries = 0;
  let failure: TrainerError | undefined;
  const fail = (e: TrainerError) => {
    failure ??= e;
  };
  const uz = new Unzip((f) => {
    if (failure) return;
    if (++entries > limits.maxEntries)
      return fail(new TrainerError('unsafe_archive', `${label} has more than ${limits.maxEntries} entries`, 'dataset'));
    if (unsafeEntryName(f.name))
      return fail(new TrainerError('unsafe_archive', `${label} entry '${f.name}' escapes the archive root`, 'dataset'));
    if (f.name.endsWith('/')) return;
    const path = join(dir, f.name);
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': an entry named twice is refused rather than written over.
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      return fail(new TrainerError('unsafe_archive', `${label} entry '${f.name}': ${(e as Error).message}`, 'dataset'));
    }
    open_.set(f.name, fd);
    f.ondata = (err, data, final) => {
      if (failure) return;
      if (err)
        return fail(new TrainerError('corrupt_archive', `${label} entry '${f.name}': ${err.message}`, 'dataset'));
      total += data.length;
      if (total > limits.maxTotalBytes)
        return fail(
          new TrainerError('unsafe_archive', `${label} inflates to more than ${limits.maxTotalBytes} bytes`, 'dataset'),
        );
      if (total > limits.maxRatio * size)
        return fail(
          new TrainerError(
            'unsafe_archive',
            `${label} inflates more than ${limits.maxRatio}× its size (zip bomb?)`,
            'dataset',
          ),
        );
      writeSync(fd, data);
      if (final) {
        closeSync(fd);
        open_.delete(f.name);
        written.push(f.name);
      }
    };
    try {
      f.start();
    } catch (e) {
      fail(new TrainerError('corrupt_archive', `${label} entry '${f.name}': ${(e as Error).message}`, 'dataset'));
    }
  });
  uz.register(UnzipInflate);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 16 * 1024 })) {
      uz.push(chunk as Buffer);
      if (failure) break;
      await new Promise((r) => setImmediate(r));
    }
    if (!failure) uz.push(new Uint8Array(0), true);
  } catch (e) {
    fail(new TrainerError('corrupt_archive', `${label} is corrupt: ${(e as Error).message}`, 'dataset'));
  } finally {
    for (const fd of open_.values()) closeSync(fd);
  }
  if (failure) throw failure;
  if (open_.size)
    throw new TrainerError(
      'corrupt_archive',
      `${label} is truncated: entry '${[...open_.keys()][0]}' is incomplete`,
      'dataset',
    );
  return written;
}
