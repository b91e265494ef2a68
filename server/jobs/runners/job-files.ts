/**
 * A job's files across the Docker API, with no path shared with the engine: the input directory goes in as a
 * tar (putArchive) and /output comes back as a tar (getArchive) that is written out here with the same rules
 * the platform applies to any output: regular files and directories only (a link, FIFO or device is named,
 * never created or followed), no name outside the directory, and a byte cap.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

const EPOCH = new Date(0);
/** Most entries read from /output (a job writing millions of empty files is refused, not walked). */
const MAX_OUTPUT_ENTRIES = 100_000;

/**
 * The input directory as a tar whose root is the directory itself: regular files and directories, owned by
 * root (0644/0755), so the job's user can read and never change them. Anything else is skipped (the platform
 * wrote the inputs itself).
 */
export function packDirectory(dir: string, rootUid = 0): Readable {
  const pack = tar.pack();
  const add = (h: tar.Headers, body?: Buffer): Promise<void> =>
    new Promise((res, rej) => {
      if (body) pack.entry(h, body, (err) => (err ? rej(err) : res()));
      else pack.entry(h, (err) => (err ? rej(err) : res()));
    });
  const walk = async (abs: string, rel: string): Promise<void> => {
    const entries = (await readdir(abs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        await add({ name: `${name}/`, type: 'directory', mode: 0o755, mtime: EPOCH, uid: 0, gid: 0 });
        await walk(join(abs, e.name), name);
      } else if (e.isFile()) {
        const st = await lstat(join(abs, e.name));
        await new Promise<void>((res, rej) => {
          const w = pack.entry(
            { name, type: 'file', size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: EPOCH, uid: 0, gid: 0 },
            (err) => (err ? rej(err) : res()),
          );
          createReadStream(join(abs, e.name)).on('error', rej).pipe(w);
        });
      }
    }
  };
  void (async () => {
    await add({ name: './', type: 'directory', mode: 0o755, mtime: EPOCH, uid: rootUid, gid: rootUid });
    await walk(dir, '');
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  return pack;
}

/**
 * A tar holding one empty directory owned by `uid` (mode 0755): how /output is handed to the job's user. Docker
 * applies a `./` entry's owner to the target directory itself; podman 4.3 does not (measured: the volume stayed
 * root's), but honours a named entry extracted at the parent, so podman gets `output/` put at `/` (a path
 * Docker refuses on a read-only root filesystem, which podman allows because the entry lands in the volume).
 */
export function ownedDirectory(uid: number, name = './'): Readable {
  const pack = tar.pack();
  pack.entry({ name, type: 'directory', mode: 0o755, mtime: EPOCH, uid, gid: uid });
  pack.finalize();
  return pack;
}

export interface ExtractedOutput {
  /** Bytes of regular files written (stops just past `maxBytes`). */
  bytes: number;
  /** True when the archive held more than `maxBytes` of file content (the rest was not written). */
  over: boolean;
  /** Entries refused, as `path (kind)`, sorted: the same words specialEntries() uses. */
  special: string[];
}

const KINDS: Record<string, string> = {
  symlink: 'symbolic link',
  link: 'hard link',
  fifo: 'FIFO',
  'character-device': 'device',
  'block-device': 'device',
};

/**
 * Writes the tar of a directory (getArchive of /output) into `dest`. The archive's first entry is the directory
 * itself (`output/` from Docker, `/` from podman 4.3): every other name must lie under it.
 */
export async function extractDirectory(archive: Readable, dest: string, maxBytes: number): Promise<ExtractedOutput> {
  const result: ExtractedOutput = { bytes: 0, over: false, special: [] };
  const ex = tar.extract();
  let prefix: string | undefined;
  let entries = 0;
  let failure: Error | undefined;
  const stop = (err?: Error): void => {
    failure ??= err;
    archive.unpipe(ex);
    archive.destroy();
    ex.destroy();
  };
  ex.on('entry', (h, stream, next) => {
    const drain = (): void => {
      stream.on('end', () => next());
      stream.resume();
    };
    if (++entries > MAX_OUTPUT_ENTRIES) return stop(new Error(`/output holds more than ${MAX_OUTPUT_ENTRIES} entries`));
    if (prefix === undefined) {
      if (h.type !== 'directory') return stop(new Error(`the output archive does not start with its directory`));
      prefix = h.name.endsWith('/') ? h.name : `${h.name}/`;
      return drain();
    }
    const raw = h.name.startsWith(prefix) ? h.name.slice(prefix.length).replace(/\/+$/, '') : undefined;
    const rel = raw === undefined ? undefined : posix.normalize(raw);
    if (!rel || rel === '.' || rel !== raw || rel.startsWith('/') || rel.split('/').includes('..')) {
      result.special.push(`${h.name} (name outside /output)`);
      return drain();
    }
    const kind =
      h.type === 'file' || h.type === 'contiguous-file' ? 'file' : h.type === 'directory' ? 'dir' : undefined;
    if (!kind) {
      result.special.push(`${rel} (${KINDS[h.type ?? ''] ?? h.type ?? 'unknown'})`);
      return drain();
    }
    const path = join(dest, ...rel.split('/'));
    if (kind === 'dir') {
      mkdir(path, { recursive: true }).then(drain, stop);
      return;
    }
    const size = h.size ?? 0;
    if (result.bytes + size > maxBytes) {
      result.bytes += size;
      result.over = true;
      return stop();
    }
    result.bytes += size;
    // 'wx': a fresh file, never through an existing name (the tree holds only what this loop made).
    mkdir(join(path, '..'), { recursive: true })
      .then(() => pipeline(stream, createWriteStream(path, { flags: 'wx', mode: 0o644 })))
      .then(() => next(), stop);
  });
  await new Promise<void>((resolve) => {
    ex.on('finish', resolve);
    ex.on('close', resolve);
    ex.on('error', (err) => {
      failure ??= err;
      resolve();
    });
    archive.on('error', (err) => {
      if (!result.over) failure ??= err;
      resolve();
    });
    archive.pipe(ex);
  });
  if (failure && !result.over) throw failure;
  result.special.sort();
  return result;
}
