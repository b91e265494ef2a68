import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { digestPattern } from '../../schema/reference.ts';
import type { Db } from '../db/connect.ts';
import { Layout } from './store/layout.ts';

export interface GcResult {
  /** Blob files no manifest of any repository references (removed, or to be removed on a dry run). */
  blobs: { digest: string; size: number }[];
  /** Repository links to blobs no manifest of that repository references. */
  links: { repo: string; digest: string }[];
  /** Bytes the blob files take. */
  bytes: number;
  /** What stays. */
  kept: { blobs: number; bytes: number };
  dryRun: boolean;
}

/**
 * Garbage collection of the embedded store, with distribution's mark-and-sweep semantics. Mark: every manifest
 * in the index (`registry_manifests`, all repositories) and every blob it names (config, layers, `blobs`, index
 * children). Sweep: each repository's links to anything its own manifests do not name, then every blob file
 * no repository's manifest names (files are shared between repositories), then empty directories.
 *
 * It must run with nothing writing to the store (`aibomgen gc` checks): a blob pushed before the mark and
 * referenced by a manifest put after it would be swept. Upload sessions are not touched (they expire).
 */
export async function collectGarbage(opts: { root: string; db: Db; dryRun: boolean }): Promise<GcResult> {
  const layout = new Layout(opts.root);
  const { repoMarks, marked } = await mark(layout, opts.db);

  const links: GcResult['links'] = [];
  for (const { repo, digest, path } of await listLinks(layout)) {
    if (repoMarks.get(repo)?.has(digest)) continue;
    links.push({ repo, digest });
    if (!opts.dryRun) await rm(path, { force: true });
  }
  const blobs: GcResult['blobs'] = [];
  const kept = { blobs: 0, bytes: 0 };
  let bytes = 0;
  for (const { digest, path, size } of await listBlobs(layout)) {
    if (digest && marked.has(digest)) {
      kept.blobs++;
      kept.bytes += size;
      continue;
    }
    // A name that is no digest: a temporary file a crash left (nothing writes while gc runs).
    blobs.push({ digest: digest ?? relative(layout.blobsDir, path), size });
    bytes += size;
    if (!opts.dryRun) await rm(path, { force: true });
  }
  if (!opts.dryRun) {
    await removeEmptyDirs(layout.reposDir);
    await removeEmptyDirs(layout.blobsDir);
  }
  return { blobs, links, bytes, kept, dryRun: opts.dryRun };
}

async function mark(layout: Layout, db: Db): Promise<{ repoMarks: Map<string, Set<string>>; marked: Set<string> }> {
  const repoMarks = new Map<string, Set<string>>();
  const marked = new Set<string>();
  const add = (repo: string, digest: unknown) => {
    if (typeof digest !== 'string' || !digestPattern.test(digest)) return;
    marked.add(digest);
    let s = repoMarks.get(repo);
    if (!s) repoMarks.set(repo, (s = new Set()));
    s.add(digest);
  };
  const rows = await db.selectFrom('registry_manifests').select(['repo', 'digest']).execute();
  for (const { repo, digest } of rows) {
    add(repo, digest);
    let m: { config?: { digest?: unknown }; layers?: unknown; blobs?: unknown; manifests?: unknown };
    try {
      m = JSON.parse(await readFile(layout.blobPath(digest), 'utf8'));
    } catch {
      continue; // its bytes are gone or unreadable: nothing more to mark from it
    }
    add(repo, m.config?.digest);
    for (const list of [m.layers, m.blobs, m.manifests])
      if (Array.isArray(list)) for (const d of list) add(repo, (d as { digest?: unknown } | null)?.digest);
  }
  return { repoMarks, marked };
}

async function entries(dir: string): Promise<import('node:fs').Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch(() => []);
}

/** Every `repos/<repo>/_links/<alg>/<hex>` (repository names nest: `a/b/c`). */
async function listLinks(layout: Layout): Promise<{ repo: string; digest: string; path: string }[]> {
  const out: { repo: string; digest: string; path: string }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await entries(dir)) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name !== '_links') {
        await walk(p);
        continue;
      }
      const repo = relative(layout.reposDir, dir).split(sep).join('/');
      for (const alg of await entries(p))
        for (const f of await entries(join(p, alg.name)))
          if (f.isFile()) out.push({ repo, digest: `${alg.name}:${f.name}`, path: join(p, alg.name, f.name) });
    }
  };
  await walk(layout.reposDir);
  return out;
}

/** Every file under `blobs/<alg>/<2>/`, with its digest when its name is one. */
async function listBlobs(layout: Layout): Promise<{ digest?: string; path: string; size: number }[]> {
  const out: { digest?: string; path: string; size: number }[] = [];
  for (const alg of await entries(layout.blobsDir))
    for (const pre of await entries(join(layout.blobsDir, alg.name)))
      for (const f of await entries(join(layout.blobsDir, alg.name, pre.name))) {
        if (!f.isFile()) continue;
        const path = join(layout.blobsDir, alg.name, pre.name, f.name);
        const digest = `${alg.name}:${f.name}`;
        const named = digestPattern.test(digest) && f.name.startsWith(pre.name);
        out.push({ ...(named ? { digest } : {}), path, size: (await stat(path)).size });
      }
  return out;
}

/** Removes the empty directories under `dir` (not `dir` itself), deepest first. */
async function removeEmptyDirs(dir: string): Promise<boolean> {
  let empty = true;
  for (const e of await entries(dir)) {
    if (e.isDirectory() && (await removeEmptyDirs(join(dir, e.name)))) {
      await rmdir(join(dir, e.name)).catch(() => (empty = false));
    } else empty = false;
  }
  return empty;
}
