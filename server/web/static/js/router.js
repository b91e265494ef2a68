// Hash routes: #/jobs, #/jobs/<id>, #/models, #/models/<repo>[@<digest>|:<tag>][/lineage], #/artifacts/<digest>, #/login, #/audit, #/workers.
// Repositories contain "/", so a model route is split at its last "@" or ":" (digests/tags hold no "/").

/**
 * @typedef {{name: 'jobs'} | {name: 'job', id: string} | {name: 'models'}
 *   | {name: 'model', repo: string, version?: string} | {name: 'lineage', repo: string, version: string}
 *   | {name: 'impact', digest: string} | {name: 'login', next?: string} | {name: 'audit'} | {name: 'workers'}
 *   | {name: 'not-found', path: string}} Route
 */

/**
 * What the router hands every view (here, not in main.js, so views and main.js do not import each other).
 * @typedef {{signal: AbortSignal, setTitle: (title: string) => void, refresh: () => void}} ViewContext
 */

/**
 * @param {string} hash location.hash, e.g. "#/models/models/iris@sha256:ab/lineage"
 * @returns {Route}
 */
export function parseRoute(hash) {
  const raw = hash.replace(/^#/, '') || '/jobs';
  const [pathPart, query = ''] = raw.split('?', 2);
  const path = decodeURIComponent(pathPart ?? '');
  const params = new URLSearchParams(query);
  if (path === '/' || path === '/jobs') return { name: 'jobs' };
  if (path === '/models') return { name: 'models' };
  if (path === '/audit') return { name: 'audit' };
  if (path === '/workers') return { name: 'workers' };
  if (path === '/login') return { name: 'login', next: params.get('next') ?? undefined };
  let m = /^\/jobs\/([^/]+)$/.exec(path);
  if (m?.[1]) return { name: 'job', id: m[1] };
  m = /^\/artifacts\/(\w+:[0-9a-f]+)$/.exec(path);
  if (m?.[1]) return { name: 'impact', digest: m[1] };
  m = /^\/models\/(.+?)(\/lineage)?$/.exec(path);
  if (m?.[1]) {
    const { repo, version } = splitRef(m[1]);
    if (m[2]) return version ? { name: 'lineage', repo, version } : { name: 'not-found', path };
    return version ? { name: 'model', repo, version } : { name: 'model', repo };
  }
  return { name: 'not-found', path };
}

/**
 * "models/iris@sha256:ab" → {repo: "models/iris", version: "sha256:ab"}; "models/iris:1.0" → version "1.0".
 * @param {string} ref
 * @returns {{repo: string, version?: string}}
 */
export function splitRef(ref) {
  const at = ref.lastIndexOf('@');
  if (at > 0) return { repo: ref.slice(0, at), version: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repo: ref.slice(0, colon), version: ref.slice(colon + 1) };
  return { repo: ref };
}

/**
 * A "sha256:…" version is a digest (joined with "@"), anything else a tag (joined with ":").
 * @param {string} repo
 * @param {string} version
 */
export function joinRef(repo, version) {
  return /^[a-z0-9]+:[0-9a-f]{32,}$/.test(version) ? `${repo}@${version}` : `${repo}:${version}`;
}

export const href = {
  jobs: () => '#/jobs',
  /** @param {string} id */
  job: (id) => `#/jobs/${encodeURIComponent(id)}`,
  models: () => '#/models',
  /**
   * @param {string} repo
   * @param {string} [version]
   */
  model: (repo, version) => `#/models/${version ? joinRef(repo, version) : repo}`,
  /**
   * @param {string} repo
   * @param {string} digest
   */
  lineage: (repo, digest) => `#/models/${repo}@${digest}/lineage`,
  /** @param {string} digest */
  impact: (digest) => `#/artifacts/${digest}`,
  audit: () => '#/audit',
  workers: () => '#/workers',
  /** @param {string} [next] */
  login: (next) => (next ? `#/login?next=${encodeURIComponent(next)}` : '#/login'),
};
