import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MediaType } from '../schema/media-types.ts';
import { CliError, ExitCode } from './errors.ts';
import { sameOrigin, unreachable, type PlatformClient } from './platform.ts';

/** An OCI descriptor as the CLI reads it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
export interface Manifest {
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A model reference split up: where its registry is, the repository, and the tag or digest. */
export interface ModelRef {
  /** `http(s)://host:port` of the registry serving /v2/. */
  registry: string;
  repo: string;
  /** A tag or `sha256:<hex>`. */
  reference: string;
  /** `repo:tag` or `repo@sha256:…`, as the platform's GraphQL and verifier take it. */
  short: string;
  /** True when the registry is the platform named by --server (its verifier can vouch for it). */
  onPlatform: boolean;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * `host:port/repo/name:tag`, `repo/name@sha256:…` or `repo/name` (tag latest). A first path segment with a
 * dot, a colon or `localhost` is a registry host (as docker and oras read it); without one the platform at
 * --server is the registry. Loopback hosts speak http, others https unless `plainHttp`.
 */
export function parseModelRef(ref: string, platformBase: string, plainHttp = false): ModelRef {
  let rest = ref.trim().replace(/^oci:\/\//, '');
  const first = rest.split('/')[0] ?? '';
  let registry = platformBase;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    // Loopback (and 0.0.0.0, which a server bound to all interfaces may print) speaks plain http.
    const local = /^(127\.|localhost(:|$)|\[::1\]|0\.0\.0\.0(:|$))/.test(first);
    registry = `${plainHttp || local ? 'http' : 'https'}://${first}`;
    rest = rest.slice(first.length + 1);
  }
  let repo: string;
  let reference: string;
  const at = rest.indexOf('@');
  if (at >= 0) [repo, reference] = [rest.slice(0, at), rest.slice(at + 1)];
  else {
    const colon = rest.lastIndexOf(':');
    [repo, reference] = colon > rest.lastIndexOf('/') ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, 'latest'];
  }
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(repo)) throw new CliError(`${JSON.stringify(ref)} is not a model reference (repository ${JSON.stringify(repo)} is not a valid OCI name)`, ExitCode.usage);
  if (reference.startsWith('sha256:') ? !DIGEST.test(reference) : !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(reference)) {
    throw new CliError(`${JSON.stringify(ref)} is not a model reference (bad tag or digest ${JSON.stringify(reference)})`, ExitCode.usage);
  }
  const short = reference.startsWith('sha256:') ? `${repo}@${reference}` : `${repo}:${reference}`;
  return { registry, repo, reference, short, onPlatform: sameOrigin(registry, platformBase) };
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Reads manifests, referrers and blobs from a registry's /v2/, checking every digest it is given. */
export class RegistryReader {
  constructor(
    private readonly ref: ModelRef,
    private readonly client: PlatformClient,
  ) {}

  private async get(path: string, accept?: string): Promise<Response> {
    const url = `${this.ref.registry}/v2/${this.ref.repo}${path}`;
    // The platform token goes only to the platform's own registry.
    const headers: Record<string, string> = { ...(accept ? { accept } : {}), ...(this.ref.onPlatform ? this.client.headers() : {}) };
    try {
      return await fetch(url, { headers });
    } catch (e) {
      throw unreachable(this.ref.registry, e);
    }
  }

  /** The manifest (bytes and digest); 404 → exit 3; a digest reference must match the bytes. */
  async manifest(reference = this.ref.reference): Promise<{ digest: string; bytes: Uint8Array; manifest: Manifest }> {
    const res = await this.get(`/manifests/${reference}`, [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest].join(', '));
    if (res.status === 404) {
      await res.arrayBuffer();
      throw new CliError(`${this.ref.repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference} not found in ${this.ref.registry}`, ExitCode.notFound);
    }
    if (!res.ok) throw new CliError(`manifest ${this.ref.repo}:${reference} could not be read (${res.status})`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) throw new CliError(`manifest ${reference} hashes to ${digest}: the registry served altered bytes`, ExitCode.verificationFailed);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as Manifest;
    } catch {
      throw new CliError(`manifest ${this.ref.short} is not JSON`);
    }
    if (!Array.isArray(manifest.layers)) throw new CliError(`${this.ref.short} is an index or not an image manifest; pull one of its manifests by digest`);
    return { digest, bytes, manifest };
  }

  /** Referrers of `digest` with `artifactType`: the referrers API, else the `sha256-<hex>` tag index. */
  async referrers(digest: string, artifactType: string): Promise<Descriptor[]> {
    const res = await this.get(`/referrers/${digest}?artifactType=${encodeURIComponent(artifactType)}`, MediaType.ociIndex);
    let list: Descriptor[] = [];
    if (res.ok) list = ((await res.json()) as { manifests?: Descriptor[] }).manifests ?? [];
    else {
      await res.arrayBuffer();
      const idx = await this.get(`/manifests/${digest.replace(':', '-')}`, MediaType.ociIndex);
      if (idx.ok) list = ((await idx.json()) as { manifests?: Descriptor[] }).manifests ?? [];
      else await idx.arrayBuffer();
    }
    // A registry may ignore the filter: apply it here too.
    return list.filter((d) => d.artifactType === artifactType);
  }

  /** A whole blob in memory (for small JSON documents), checked against its descriptor. */
  async blob(d: Descriptor): Promise<Uint8Array> {
    const res = await this.get(`/blobs/${d.digest}`);
    if (!res.ok) {
      await res.arrayBuffer();
      throw new CliError(`blob ${d.digest} of ${this.ref.repo} could not be read (${res.status})`, res.status === 404 ? ExitCode.notFound : ExitCode.failure);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = sha256(bytes);
    if (got !== d.digest || bytes.byteLength !== d.size) throw new CliError(`blob ${d.digest} arrived as ${got} (${bytes.byteLength} bytes): digest mismatch`, ExitCode.verificationFailed);
    return bytes;
  }

  /**
   * Streams a blob to `dest` through a temporary file beside it, hashing on the way; the file only appears
   * under its name when size and digest match. Returns the bytes written.
   */
  async download(d: Descriptor, dest: string, onBytes?: (n: number) => void): Promise<number> {
    const res = await this.get(`/blobs/${d.digest}`);
    if (!res.ok || !res.body) {
      await res.arrayBuffer().catch(() => undefined);
      throw new CliError(`blob ${d.digest} of ${this.ref.repo} could not be read (${res.status})`, res.status === 404 ? ExitCode.notFound : ExitCode.failure);
    }
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.aibomgen-partial`;
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        onBytes?.(chunk.length);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), tap, createWriteStream(tmp, { mode: 0o644 }));
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== d.digest || size !== d.size) throw new CliError(`blob ${d.digest} arrived as ${got} (${size} bytes): digest mismatch, nothing written`, ExitCode.verificationFailed);
      await rename(tmp, dest);
      return size;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
