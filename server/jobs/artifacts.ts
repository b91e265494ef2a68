/**
 * A job's output files as the developer API lists and serves them: from this node's job directory when it ran
 * the job, else (a worker on another host ran it) from the model the job published, where every output file is
 * a layer titled with its path.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Annotation } from '../../schema/media-types.ts';
import { listFiles, sha256File } from '../attest/hash.ts';
import { JobFileRefused, openNoFollow } from '../bounded-read.ts';
import type { JobView } from '../contracts.ts';
import { parseManifest } from '../lineage/manifest.ts';
import type { OciTarget } from '../oci/target.ts';

export interface ArtifactEntry {
  name: string;
  size: number;
  digest: string;
}

/**
 * Regular files of a job's output (listFiles skips symlinks: a job's output is untrusted), hidden ones left out,
 * with sizes and digests; a file that turned into a link or left the output since it was listed is left out.
 */
export async function listLocalArtifacts(root: string): Promise<ArtifactEntry[]> {
  const names = await listFiles(root).catch(() => [] as string[]);
  const visible = names.filter((n) => !n.split('/').some((p) => p.startsWith('.')));
  const entries = await Promise.all(
    visible.map(async (name) => {
      const path = join(root, ...name.split('/'));
      try {
        return [{ name, size: (await lstat(path)).size, digest: await fileDigest(path, root) }];
      } catch {
        return [];
      }
    }),
  );
  return entries.flat();
}

/**
 * One output file of a job this node ran, opened without following links and only when its real path is inside
 * the output directory: undefined when there is no such regular file (a link to a host file is not served).
 */
export async function openLocalArtifact(
  root: string,
  name: string,
): Promise<{ size: number; stream: Readable } | undefined> {
  const fh = await openNoFollow(join(root, ...name.split('/')), root).catch((e: unknown) => {
    if (e instanceof JobFileRefused || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  });
  if (!fh) return undefined;
  const { size } = await fh.stat();
  return { size, stream: fh.createReadStream() };
}

/** The output files of a job this node did not run, as layers of the model it published; undefined when none. */
export async function publishedArtifacts(registry: OciTarget, job: JobView): Promise<ArtifactEntry[] | undefined> {
  const p = job.publication;
  const m = p ? await registry.getManifest(p.repository, p.digest) : undefined;
  if (!p || !m) return undefined;
  return (parseManifest(m.bytes)?.layers ?? []).flatMap((l) => {
    const name = l.annotations?.[Annotation.title];
    return name && l.digest ? [{ name, size: l.size ?? 0, digest: l.digest }] : [];
  });
}

/** One published output file as a stream (checked against its digest), or undefined when there is none. */
export async function openPublishedArtifact(
  registry: OciTarget,
  job: JobView,
  name: string,
): Promise<{ size: number; stream: Readable } | undefined> {
  const repo = job.publication?.repository;
  const layer = repo ? (await publishedArtifacts(registry, job))?.find((a) => a.name === name) : undefined;
  if (!repo || !layer || (await registry.blobSize(repo, layer.digest)) === null) return undefined;
  const blob = await registry.openBlob(repo, layer.digest);
  return { size: blob.size >= 0 ? blob.size : layer.size, stream: blob.stream };
}

/** sha256 of an output file, cached by path+size+mtime: listing is frequent and the files do not change after a run. */
const digestCache = new Map<string, string>();
async function fileDigest(path: string, root: string): Promise<string> {
  const st = await lstat(path);
  const key = `${path}|${st.size}|${st.mtimeMs}`;
  let d = digestCache.get(key);
  if (!d) {
    d = `sha256:${await sha256File(path, root)}`;
    if (digestCache.size > 10_000) digestCache.clear();
    digestCache.set(key, d);
  }
  return d;
}
