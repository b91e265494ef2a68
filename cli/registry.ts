import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageManifest } from '../schema/oci.ts';
import { parseReference, registryUrl } from '../schema/reference.ts';
import { digestOf, OciClient, OciError, type OciDescriptor } from '../server/oci/client.ts';
import { CliError, ExitCode } from './errors.ts';
import { sameOrigin, unreachable, type PlatformClient } from './platform.ts';

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

/**
 * A reference as `parseReference` (schema/reference.ts) reads it; without a registry host the platform at
 * --server is the registry. An invalid reference is a usage error (exit 2).
 */
export function parseModelRef(ref: string, platformBase: string, plainHttp = false): ModelRef {
  const r = parseReference(ref);
  if (r.invalid) throw new CliError(`${JSON.stringify(ref)} is not a model reference (${r.invalid})`, ExitCode.usage);
  const registry = r.host ? registryUrl(r.host, plainHttp) : platformBase;
  return {
    registry,
    repo: r.repo,
    reference: r.reference,
    short: r.short,
    onPlatform: sameOrigin(registry, platformBase),
  };
}

const isDigest = (reference: string): boolean => reference.includes(':');

/**
 * Reads manifests, referrers and blobs of one model through the OCI client, checking every digest itself
 * (reads with verify: false) so that a mismatch is reported in the CLI's words with exit code 4.
 */
export class RegistryReader {
  private readonly oci: OciClient;

  constructor(
    private readonly ref: ModelRef,
    client: PlatformClient,
  ) {
    // The platform token goes only to the platform's own registry.
    this.oci = new OciClient(ref.registry, { headers: ref.onPlatform ? client.headers() : {} });
  }

  /** A registry call: fetch's network failure (a TypeError) → "cannot reach"; an OciError → `failed(e)`. */
  private async call<T>(op: () => Promise<T>, failed: (e: OciError) => CliError): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof OciError) throw failed(e);
      if (e instanceof TypeError) throw unreachable(this.ref.registry, e);
      throw e;
    }
  }

  private blobError(d: OciDescriptor): (e: OciError) => CliError {
    return (e) =>
      new CliError(
        `blob ${d.digest} of ${this.ref.repo} could not be read (${e.status})`,
        e.status === 404 ? ExitCode.notFound : ExitCode.failure,
      );
  }

  /** The manifest (bytes and digest); 404 → exit 3; a digest reference must match the bytes. */
  async manifest(
    reference = this.ref.reference,
  ): Promise<{ digest: string; bytes: Uint8Array; manifest: ImageManifest }> {
    const { repo, registry, short } = this.ref;
    const got = await this.call(
      () => this.oci.getManifest(repo, reference, { verify: false }),
      (e) => new CliError(`manifest ${repo}:${reference} could not be read (${e.status})`),
    );
    if (!got)
      throw new CliError(
        `${repo}${isDigest(reference) ? '@' : ':'}${reference} not found in ${registry}`,
        ExitCode.notFound,
      );
    const { digest, bytes } = got;
    if (isDigest(reference) && digest !== reference)
      throw new CliError(
        `manifest ${reference} hashes to ${digest}: the registry served altered bytes`,
        ExitCode.verificationFailed,
      );
    let manifest: ImageManifest;
    try {
      manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageManifest;
    } catch {
      throw new CliError(`manifest ${short} is not JSON`);
    }
    if (!Array.isArray(manifest.layers))
      throw new CliError(`${short} is an index or not an image manifest; pull one of its manifests by digest`);
    return { digest, bytes, manifest };
  }

  /** Referrers of `digest` with `artifactType`: the referrers API, else the `sha256-<hex>` tag index. */
  referrers(digest: string, artifactType: string): Promise<OciDescriptor[]> {
    return this.call(
      () => this.oci.referrers(this.ref.repo, digest, artifactType),
      (e) => new CliError(`referrers of ${this.ref.repo}@${digest} could not be read (${e.status})`),
    );
  }

  /** A whole blob in memory (for small JSON documents), checked against its descriptor. */
  async blob(d: OciDescriptor): Promise<Uint8Array> {
    const bytes = await this.call(
      () => this.oci.fetchBlob(this.ref.repo, d.digest, { verify: false }),
      this.blobError(d),
    );
    const got = digestOf(bytes);
    if (got !== d.digest || bytes.byteLength !== d.size)
      throw new CliError(
        `blob ${d.digest} arrived as ${got} (${bytes.byteLength} bytes): digest mismatch`,
        ExitCode.verificationFailed,
      );
    return bytes;
  }

  /**
   * Streams a blob to `dest` through a temporary file beside it, hashing on the way; the file only appears
   * under its name when size and digest match. Returns the bytes written.
   */
  async download(d: OciDescriptor, dest: string, onBytes?: (n: number) => void): Promise<number> {
    const { stream } = await this.call(
      () => this.oci.openBlob(this.ref.repo, d.digest, { verify: false }),
      this.blobError(d),
    );
    await mkdir(dirname(dest), { recursive: true }).catch((e: unknown) => {
      stream.destroy();
      throw e;
    });
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
      await pipeline(stream, tap, createWriteStream(tmp, { mode: 0o644 }));
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== d.digest || size !== d.size)
        throw new CliError(
          `blob ${d.digest} arrived as ${got} (${size} bytes): digest mismatch, nothing written`,
          ExitCode.verificationFailed,
        );
      await rename(tmp, dest);
      return size;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
