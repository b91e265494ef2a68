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

/** Where inflated entries go: `open` is called per file entry, `write` per inflated piece, `end` when it is whole. */
interface EntrySink {
  open(name: string): { write(data: Uint8Array): void; end(): void };
  /** Releases whatever is still open after a failure. */
  abort(): void;
}

/**
 * The one inflater both unzips use: the archive streamed through fflate's Unzip, each entry's pieces handed to
 * `sink`, refusing path traversal and zip bombs (entry count, total inflated bytes, inflated/compressed ratio,
 * counted on the bytes actually inflated: headers can lie). `sliceBytes` bounds the inflation done per read;
 * with `yieldBetween` the event loop gets a turn after each slice.
 */
async function inflateEntries(
  file: string,
  label: string,
  limits: UnzipLimits,
  sink: EntrySink,
  sliceBytes: number,
  yieldBetween: boolean,
): Promise<void> {
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
    let out: ReturnType<EntrySink['open']>;
    try {
      out = sink.open(f.name);
    } catch (e) {
      return fail(new TrainerError('unsafe_archive', `${label} entry '${f.name}': ${(e as Error).message}`, 'dataset'));
    }
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
      if (total > limits.maxRatio * size)
        return fail(
          new TrainerError(
            'unsafe_archive',
            `${label} inflates more than ${limits.maxRatio}× its size (zip bomb?)`,
            'dataset',
          ),
        );
      out.write(data);
      if (final) {
        pending.delete(f.name);
        out.end();
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
    for await (const chunk of createReadStream(file, { highWaterMark: sliceBytes })) {
      uz.push(chunk as Buffer);
      if (failure) break;
      if (yieldBetween) await new Promise((r) => setImmediate(r));
    }
    if (!failure) uz.push(new Uint8Array(0), true);
  } catch (e) {
    fail(new TrainerError('corrupt_archive', `${label} is corrupt: ${(e as Error).message}`, 'dataset'));
  }
  if (failure || pending.size) sink.abort();
  if (failure) throw failure;
  if (pending.size)
    throw new TrainerError(
      'corrupt_archive',
      `${label} is truncated: entry '${[...pending][0]}' is incomplete`,
      'dataset',
    );
}

/** Unzips an untrusted archive into memory (the trainer's image datasets, inside the job). */
export async function unzipSafely(
  file: string,
  label: string,
  limits = defaultUnzipLimits,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  await inflateEntries(
    file,
    label,
    limits,
    {
      open(name) {
        const parts: Uint8Array[] = [];
        return {
          write: (d) => parts.push(d),
          end: () => out.set(name, parts.length === 1 ? parts[0]! : Buffer.concat(parts)),
        };
      },
      abort: () => undefined,
    },
    1 << 20,
    false,
  );
  return out;
}

/**
 * Unzips an untrusted archive into `dir` as it streams: each entry's inflated bytes go to its file as they come
 * (memory stays a few buffers, whatever the archive holds), under the same caps. The archive is read in 16 KiB
 * slices (a few MiB inflated each at most) and the event loop gets a turn between them, so a bomb cannot block
 * the server for long before a cap stops it. Returns the entry names written (directories left out). On any
 * failure the caller removes `dir`.
 */
export async function unzipToDirectory(
  file: string,
  dir: string,
  label: string,
  limits = defaultUnzipLimits,
): Promise<string[]> {
  const written: string[] = [];
  const open_ = new Set<number>();
  await inflateEntries(
    file,
    label,
    limits,
    {
      open(name) {
        const path = join(dir, name);
        mkdirSync(dirname(path), { recursive: true });
        // 'wx': an entry named twice is refused rather than written over.
        const fd = openSync(path, 'wx', 0o644);
        open_.add(fd);
        return {
          write: (d) => writeSync(fd, d),
          end: () => {
            closeSync(fd);
            open_.delete(fd);
            written.push(name);
          },
        };
      },
      abort: () => {
        for (const fd of open_) closeSync(fd);
        open_.clear();
      },
    },
    16 * 1024,
    true,
  );
  return written;
}
