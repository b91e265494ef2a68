/**
 * A container image written as a `docker save` archive (docker-archive: manifest.json, the config, one
 * uncompressed layer), from a list of files: what `podman load` / `POST /images/load` takes, built with no
 * engine, no base image and no network. Deterministic: entries sorted, mtime 0, owner 0 unless a file says
 * otherwise, no timestamps in the config, so the same files give the same layer, config and image id.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** One entry of the image's only layer; `path` is absolute inside the image. */
export type TreeEntry =
  | { path: string; type: 'dir'; mode?: number; uid?: number }
  | { path: string; type: 'file'; mode?: number; source: string }
  | { path: string; type: 'file'; mode?: number; content: string | Buffer }
  | { path: string; type: 'symlink'; target: string };

/** The parts of an OCI/Docker image config the platform sets. */
export interface ImageRunConfig {
  User?: string;
  Env?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface BuiltImageArchive {
  /** sha256:… of the config: the image id an engine reports after loading the archive. */
  configDigest: string;
  /** sha256:… of the uncompressed layer (its diff id and, pushed uncompressed, its blob digest). */
  layerDigest: string;
  layerSize: number;
}

const EPOCH = new Date(0);

/** Every entry plus the parent directories it needs (0755, root), sorted by path. */
function normalise(entries: TreeEntry[]): TreeEntry[] {
  const byPath = new Map<string, TreeEntry>();
  for (const e of entries) {
    const p = posix.normalize(e.path);
    if (!p.startsWith('/') || p === '/' || p.split('/').includes('..')) throw new Error(`bad image path ${e.path}`);
    byPath.set(p, { ...e, path: p });
    for (let d = posix.dirname(p); d !== '/'; d = posix.dirname(d))
      if (!byPath.has(d)) byPath.set(d, { path: d, type: 'dir' });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A pass-through that hashes and counts what flows through it. */
function hasher(): Transform & { digest(): string; bytes(): number } {
  const h = createHash('sha256');
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
  });
  return Object.assign(t, { digest: () => `sha256:${h.digest('hex')}`, bytes: () => n });
}

/** Adds one entry to a tar pack, streaming a file's content; resolves once it is written. */
async function addEntry(pack: tar.Pack, e: TreeEntry): Promise<void> {
  const name = e.path.slice(1) + (e.type === 'dir' ? '/' : '');
  const base = { name, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
  if (e.type === 'dir') {
    const uid = e.uid ?? 0;
    await new Promise<void>((res, rej) =>
      pack.entry({ ...base, type: 'directory', mode: e.mode ?? 0o755, uid, gid: uid }, (err) =>
        err ? rej(err) : res(),
      ),
    );
  } else if (e.type === 'symlink') {
    await new Promise<void>((res, rej) =>
      pack.entry({ ...base, type: 'symlink', linkname: e.target, mode: 0o777 }, (err) => (err ? rej(err) : res())),
    );
  } else if ('content' in e) {
    await new Promise<void>((res, rej) =>
      pack.entry({ ...base, type: 'file', mode: e.mode ?? 0o644 }, Buffer.from(e.content), (err) =>
        err ? rej(err) : res(),
      ),
    );
  } else {
    const st = await lstat(e.source);
    if (!st.isFile()) throw new Error(`${e.source} is not a regular file`);
    await new Promise<void>((res, rej) => {
      const w = pack.entry({ ...base, type: 'file', mode: e.mode ?? st.mode & 0o777, size: st.size }, (err) =>
        err ? rej(err) : res(),
      );
      createReadStream(e.source).on('error', rej).pipe(w);
    });
  }
}

/** Writes the layer tar of `entries` to `path`; returns its digest and size. */
export async function writeLayer(entries: TreeEntry[], path: string): Promise<{ digest: string; size: number }> {
  const pack = tar.pack();
  const h = hasher();
  const done = pipeline(pack, h, createWriteStream(path));
  for (const e of normalise(entries)) await addEntry(pack, e);
  pack.finalize();
  await done;
  return { digest: h.digest(), size: h.bytes() };
}

/**
 * Writes a docker-archive holding one layer made of `entries` and `config` to `out` (atomically: written
 * beside it, then renamed). `tag` becomes the archive's RepoTags entry.
 */
export async function writeImageArchive(
  entries: TreeEntry[],
  config: ImageRunConfig,
  tag: string,
  out: string,
): Promise<BuiltImageArchive> {
  await mkdir(dirname(out), { recursive: true });
  // Private names, then an atomic rename: processes building the same archive at once each write their own
  // copy (byte-identical: the build is deterministic) and the last rename wins.
  const unique = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const layerPath = `${out}.${unique}.layer.tmp`;
  const tmp = `${out}.${unique}.tmp`;
  try {
    const layer = await writeLayer(entries, layerPath);
    const configJson = JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    });
    const configHex = createHash('sha256').update(configJson).digest('hex');
    const layerName = `${layer.digest.slice(7)}/layer.tar`;
    const manifest = JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: [layerName] }]);
    const pack = tar.pack();
    const done = pipeline(pack, createWriteStream(tmp));
    const file = (name: string, body: string): Promise<void> =>
      new Promise((res, rej) =>
        pack.entry({ name, mtime: EPOCH, mode: 0o644, uid: 0, gid: 0 }, body, (err) => (err ? rej(err) : res())),
      );
    await file(`${configHex}.json`, configJson);
    await new Promise<void>((res, rej) => {
      const w = pack.entry(
        { name: layerName, mtime: EPOCH, mode: 0o644, uid: 0, gid: 0, size: layer.size, type: 'file' },
        (err) => (err ? rej(err) : res()),
      );
      createReadStream(layerPath).on('error', rej).pipe(w);
    });
    await file('manifest.json', manifest);
    pack.finalize();
    await done;
    await rename(tmp, out);
    return { configDigest: `sha256:${configHex}`, layerDigest: layer.digest, layerSize: layer.size };
  } finally {
    await rm(layerPath, { force: true });
    await rm(tmp, { force: true });
  }
}
