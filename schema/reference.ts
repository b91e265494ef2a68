/**
 * OCI names and references: the grammar (distribution-spec v1.1, image-spec digests) and the one parser of
 * `host:port/repo/name:tag`-style references. No dependencies: the CLI loads this on every start, so it must
 * not pull in zod (schema/oci.ts re-exports the patterns for the zod schemas).
 */

/** Grammar from the OCI distribution-spec v1.1 ("Pulling manifests"). */
export const repositoryNamePattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
export const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** OCI image-spec digest grammar; only sha256 and sha512 are registered algorithms. */
export const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
export const sha256DigestPattern = /^sha256:[a-f0-9]{64}$/;
/** A digest of a registered algorithm, with its exact length. */
export const registeredDigestPattern = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** A reference split up. */
export interface OciReference {
  /** `host[:port]` when the reference names a registry, else undefined (the caller's default registry). */
  host?: string;
  repo: string;
  /** A tag, or a digest when `byDigest`. */
  reference: string;
  byDigest: boolean;
  /** `repo:tag` or `repo@digest`, without the host. */
  short: string;
  /** Why this is not a valid reference (the first part that breaks the grammar); undefined when it is. */
  invalid?: string;
}

/**
 * `host:port/repo/name:tag`, `repo/name@sha256:…`, `repo/name` (tag latest), each optionally `oci://`. A
 * first path segment with a dot, a colon or `localhost` is a registry host (as docker and oras read it).
 * Never throws: callers that need a valid reference check `invalid` (a verifier reports it as a failed check).
 */
export function parseReference(ref: string): OciReference {
  let rest = ref.trim().replace(/^oci:\/\//, '');
  const first = rest.split('/')[0] ?? '';
  let host: string | undefined;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    rest = rest.slice(first.length + 1);
  }
  let repo: string;
  let reference: string;
  const at = rest.indexOf('@');
  const byDigest = at >= 0;
  if (byDigest) [repo, reference] = [rest.slice(0, at), rest.slice(at + 1)];
  else {
    const colon = rest.lastIndexOf(':');
    [repo, reference] =
      colon > rest.lastIndexOf('/') ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, 'latest'];
  }
  const invalid = !repositoryNamePattern.test(repo)
    ? `repository ${JSON.stringify(repo)} is not a valid OCI name`
    : !(byDigest ? registeredDigestPattern : tagPattern).test(reference)
      ? `bad tag or digest ${JSON.stringify(reference)}`
      : undefined;
  return {
    ...(host ? { host } : {}),
    repo,
    reference,
    byDigest,
    short: `${repo}${byDigest ? '@' : ':'}${reference}`,
    ...(invalid ? { invalid } : {}),
  };
}

/**
 * The base URL of a registry host: loopback (and 0.0.0.0, which a server bound to all interfaces may print)
 * speaks plain http, any other host https unless `plainHttp`.
 */
export function registryUrl(host: string, plainHttp = false): string {
  const local = /^(127\.|localhost(:|$)|\[::1\]|0\.0\.0\.0(:|$))/.test(host);
  return `${plainHttp || local ? 'http' : 'https'}://${host}`;
}
