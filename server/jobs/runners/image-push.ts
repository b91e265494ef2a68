/**
 * An image tarball (a `docker save` archive, or an OCI image layout in a tar) pushed into the platform's own
 * registry through OciTarget: the config and the layers as they are, then an OCI manifest. An OCI layout's
 * manifest is pushed byte for byte (its digest is kept); a docker-archive gets an OCI manifest with the
 * archive's uncompressed (or gzip) layers. Either way the manifest's config digest is the image id an engine
 * reports after loading the same tarball.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { MediaType } from '../../../schema/media-types.ts';
import type { OciDescriptor, OciTarget } from '../../oci/target.ts';

export interface PushedImage {
  /** sha256:… of the manifest in our registry. */
  manifestDigest: string;
  /** sha256:… of the image config: the image id. */
  configDigest: string;
}

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/** Unpacks the regular files of an image tarball into `dir` (names checked; nothing else is created). */
async function unpack(tarPath: string, dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const name = posix.normalize(h.name.replace(/^\.\//, ''));
    if (h.type !== 'file' || name.startsWith('/') || name.split('/').includes('..')) {
      stream.on('end', () => next());
      stream.resume();
      return;
    }
    names.add(name);
    const flat = join(dir, name.replaceAll('/', '__'));
    pipeline(stream, createWriteStream(flat)).then(
      () => next(),
      (err: Error) => next(err),
    );
  });
  await pipeline(createReadStream(tarPath), ex);
  return names;
}

/** The media type of a layer file: gzip by its magic bytes, else a plain tar. */
async function layerMediaType(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b ? `${OCI_LAYER}+gzip` : OCI_LAYER;
  } finally {
    await fh.close();
  }
}

/** Pushes the image in `tarPath` to `repo` under `tag`. Throws naming what the archive lacks. */
export async function pushImageArchive(
  oci: OciTarget,
  repo: string,
  tarPath: string,
  tag: string,
): Promise<PushedImage> {
  const dir = await mkdtemp(join(tmpdir(), 'aibomgen-image-'));
  try {
    const names = await unpack(tarPath, dir);
    const file = (name: string): string => {
      const n = posix.normalize(name.replace(/^\.\//, ''));
      if (!names.has(n)) throw new Error(`${tarPath}: the archive has no ${n}`);
      return join(dir, n.replaceAll('/', '__'));
    };
    if (names.has('index.json')) {
      // OCI image layout: the first manifest of the index, pushed as it is.
      const index = JSON.parse(await readFile(file('index.json'), 'utf8')) as { manifests?: OciDescriptor[] };
      const desc = index.manifests?.[0];
      if (!desc?.digest) throw new Error(`${tarPath}: index.json names no manifest`);
      const blob = (d: string): string => file(`blobs/${d.replace(':', '/')}`);
      const bytes = await readFile(blob(desc.digest));
      const m = JSON.parse(bytes.toString('utf8')) as { config: OciDescriptor; layers: OciDescriptor[] };
      for (const d of [m.config, ...m.layers]) await oci.pushBlobFile(repo, blob(d.digest), d.mediaType);
      const pushed = await oci.pushManifest(repo, tag, bytes, desc.mediaType ?? MediaType.ociManifest);
      return { manifestDigest: pushed.digest, configDigest: m.config.digest };
    }
    const list = JSON.parse(await readFile(file('manifest.json'), 'utf8')) as { Config?: string; Layers?: string[] }[];
    const entry = list[0];
    if (!entry?.Config || !entry.Layers) throw new Error(`${tarPath}: manifest.json names no config or layers`);
    const config = await oci.pushBlobFile(repo, file(entry.Config), OCI_CONFIG);
    const layers: OciDescriptor[] = [];
    for (const l of entry.Layers) layers.push(await oci.pushBlobFile(repo, file(l), await layerMediaType(file(l))));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const pushed = await oci.pushManifest(repo, tag, Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
    return { manifestDigest: pushed.digest, configDigest: config.digest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
