/**
 * Reads a job container's package databases through the Docker API (getArchive of known paths, after the
 * run, before the container is removed): no code of the image runs, and no path is shared with the engine.
 * Bounded: each database file is read up to a cap, and all archives together up to a byte budget (a
 * site-packages directory is streamed whole by the engine; only the metadata files in it are kept).
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { type ImageFile, inventoryFromFiles } from '../../attest/image-packages.ts';
import type { ImageInventory } from '../../contracts.ts';

/** Single files: the OS and Debian's package database. */
const FILES = ['/etc/os-release', '/usr/lib/os-release', '/var/lib/dpkg/status'];
const PY_VERSIONS = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14'];
/** Directories holding Python distributions (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO`). */
const PYTHON_DIRS = [
  '/usr/lib/python3/dist-packages',
  ...PY_VERSIONS.flatMap((v) => [
    `/usr/local/lib/python${v}/site-packages`,
    `/usr/local/lib/python${v}/dist-packages`,
    `/usr/lib/python${v}/site-packages`,
    `/opt/venv/lib/python${v}/site-packages`,
    `/opt/conda/lib/python${v}/site-packages`,
  ]),
];
/** node_modules directories (`<name>/package.json`, `@scope/<name>/package.json`). */
const NODE_DIRS = [
  '/opt/trainer/node_modules',
  '/usr/lib/node_modules',
  '/usr/local/lib/node_modules',
  '/app/node_modules',
];

const PYTHON_META = /^[^/]+\.(dist-info\/METADATA|egg-info\/PKG-INFO)$/;
const NPM_META = /^(@[^/]+\/)?[^/@][^/]*\/package\.json$/;

export interface InventoryLimits {
  /** Most bytes of one database file (dpkg status of a large image is a few MB). */
  fileBytes: number;
  /** Most archive bytes streamed from the engine for the whole inventory. */
  budgetBytes: number;
}

const DEFAULTS: InventoryLimits = { fileBytes: 32 * 1024 * 1024, budgetBytes: 512 * 1024 * 1024 };

/** Keeps the entries of one archive that `keep` accepts (by path relative to the archived path). */
async function readArchive(
  archive: Readable,
  keep: (rel: string) => boolean,
  limits: InventoryLimits,
  budget: { left: number },
): Promise<{ files: { rel: string; text: string }[]; truncated: boolean }> {
  const files: { rel: string; text: string }[] = [];
  let truncated = false;
  let prefix: string | undefined;
  const ex = tar.extract();
  archive.on('data', (chunk: Buffer) => {
    budget.left -= chunk.length;
    if (budget.left < 0 && !truncated) {
      truncated = true;
      archive.unpipe(ex);
      archive.destroy();
      ex.destroy();
    }
  });
  ex.on('entry', (h, stream, next) => {
    // The first entry is the archived path itself (a file's archive holds just the file).
    if (prefix === undefined) prefix = h.type === 'directory' ? h.name.replace(/\/?$/, '/') : '';
    // A file's archive: rel '' (the path itself); a directory's: the name under it ('' when outside it).
    const rel = prefix && h.name.startsWith(prefix) ? h.name.slice(prefix.length) : '';
    const wanted =
      h.type === 'file' && (prefix === '' || (rel !== '' && keep(rel))) && (h.size ?? 0) <= limits.fileBytes;
    if (!wanted) {
      stream.on('end', () => next());
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      files.push({ rel, text: Buffer.concat(chunks).toString('utf8') });
      next();
    });
  });
  await new Promise<void>((resolve) => {
    ex.on('finish', resolve);
    ex.on('close', resolve);
    ex.on('error', () => resolve());
    archive.on('error', () => resolve());
    archive.pipe(ex);
  });
  return { files, truncated };
}

/** The archive of `path` in the container, or undefined when it does not exist (404). */
async function archiveOf(container: Docker.Container, path: string): Promise<Readable | undefined> {
  try {
    return (await container.getArchive({ path })) as Readable;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** The packages of the container's image, read from its filesystem. */
export async function readImageInventory(
  container: Docker.Container,
  limits: InventoryLimits = DEFAULTS,
): Promise<ImageInventory> {
  const budget = { left: limits.budgetBytes };
  const found: ImageFile[] = [];
  let truncated = false;
  const scan = async (path: string, keep: (rel: string) => boolean): Promise<void> => {
    if (truncated) return;
    const archive = await archiveOf(container, path);
    if (!archive) return;
    const r = await readArchive(archive, keep, limits, budget);
    truncated ||= r.truncated;
    for (const f of r.files) found.push({ path: f.rel ? `${path}/${f.rel}` : path, text: f.text });
  };
  // The image's own PYTHONPATH entries too (the Keras trainer image keeps its wheels in /opt/site).
  const env = (await container.inspect().catch(() => undefined))?.Config?.Env ?? [];
  const pythonPath = (env.find((e) => e.startsWith('PYTHONPATH=')) ?? 'PYTHONPATH=')
    .slice('PYTHONPATH='.length)
    .split(':')
    .filter((d) => /^\/[\w./-]+$/.test(d) && !d.includes('..') && !PYTHON_DIRS.includes(d))
    .slice(0, 8); // the image's own setting: a bounded number of extra reads (each costs the engine a mount)
  const jobs: [string, (rel: string) => boolean][] = [
    ...FILES.map((f): [string, () => boolean] => [f, () => true]),
    ...[...PYTHON_DIRS, ...pythonPath].map((d): [string, (rel: string) => boolean] => [
      d,
      (rel) => PYTHON_META.test(rel),
    ]),
    ...NODE_DIRS.map((d): [string, (rel: string) => boolean] => [d, (rel) => NPM_META.test(rel)]),
  ];
  // Most candidates do not exist, and each request costs the engine a mount of the container (~45 ms on
  // podman 4.3, one at a time): the top two levels of each path are asked for first (HEAD), and only the
  // candidates under the ones that exist are read.
  const roots = new Map<string, Promise<boolean>>();
  const exists = (path: string): Promise<boolean> => {
    const root = path.split('/').slice(0, 3).join('/');
    let p = roots.get(root);
    if (!p) {
      p = container.infoArchive({ path: root }).then(
        () => true,
        () => false,
      );
      roots.set(root, p);
    }
    return p;
  };
  for (const [path, keep] of jobs) if (await exists(path)) await scan(path, keep);
  return inventoryFromFiles(found, truncated);
}
