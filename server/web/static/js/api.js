// Talks to the platform on this origin: REST (/developer/*, /verifier/*), GraphQL (/graphql), the registry (/v2/).
// Every request carries the stored token as `Authorization: Bearer` when one is set; after an OIDC sign-in the
// browser sends the session cookie itself (same origin), and no token is stored.
import { terminalJobStates } from './contracts.js';

/** localStorage key of the API token. */
export const TOKEN_KEY = 'aibomgen.token';

/** @returns {string | null} */
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled (privacy mode): behave as signed out
  }
}

/** @param {string | null} token */
export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  authInfo = null;
  window.dispatchEvent(new CustomEvent('auth-changed'));
}

/**
 * What the server says about signing in (GET /auth/config): whether OIDC sign-in is on, its issuer, and who this
 * browser is (by its token or its OIDC session, an HttpOnly cookie no script can read).
 * @typedef {{oidc: boolean, issuer?: string, login?: string, caller: {owner: string, admin: boolean} | null}} AuthInfo
 */
/** @type {Promise<AuthInfo> | null} */
let authInfo = null;
/** @type {AuthInfo['caller']} */
let sessionCaller = null;

/** @returns {Promise<AuthInfo>} */
export function authConfig() {
  authInfo ??= fetch('/auth/config', { headers: authHeaders({ accept: 'application/json' }) })
    .then((res) => (res.ok ? res.json() : { oidc: false, caller: null }))
    .catch(() => ({ oidc: false, caller: null }))
    .then((/** @type {AuthInfo} */ info) => {
      const before = sessionCaller?.owner;
      sessionCaller = getToken() ? null : info.caller;
      if (before !== sessionCaller?.owner) window.dispatchEvent(new CustomEvent('session-changed'));
      return info;
    });
  return authInfo;
}

/** Whether this browser is signed in: a stored token, or an OIDC session the server confirmed. */
export function signedIn() {
  return Boolean(getToken()) || sessionCaller !== null;
}

/** Signs out: forgets the token and ends the OIDC session (POST /auth/logout clears its cookie). */
export async function signOut() {
  const hadSession = sessionCaller !== null;
  sessionCaller = null;
  if (hadSession) await fetch('/auth/logout', { method: 'POST' }).catch(() => {});
  setToken(null);
}

/** An HTTP or GraphQL failure with the platform's machine code (ApiError.error or extensions.code). */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status HTTP status (200 for GraphQL errors in a 200 answer)
   * @param {string} code e.g. not_found, NOT_FOUND, FORBIDDEN
   * @param {{field: string, message: string}[]} [fields]
   */
  constructor(message, status, code, fields) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields ?? [];
  }

  get notFound() {
    return this.status === 404 || this.code === 'NOT_FOUND' || this.code === 'not_found';
  }
}

/**
 * @param {HeadersInit} [extra]
 * @returns {Headers}
 */
function authHeaders(extra) {
  const headers = new Headers(extra);
  const token = getToken();
  if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  return headers;
}

/**
 * fetch with the token; a 401 tells the app to show the sign-in page.
 * @param {string} path
 * @param {RequestInit} [init]
 */
export async function authFetch(path, init = {}) {
  const res = await fetch(path, { ...init, headers: authHeaders(init.headers) });
  if (res.status === 401) {
    authInfo = null; // a session that ended: ask /auth/config again
    window.dispatchEvent(new CustomEvent('auth-required'));
  }
  return res;
}

/**
 * Reads an error body in the platform's ApiError form, or falls back to the status line.
 * @param {Response} res
 */
async function errorFrom(res) {
  const text = await res.text().catch(() => '');
  /** @type {{error?: string, detail?: string, message?: string, fields?: {field: string, message: string}[], errors?: {code?: string, message?: string}[]} | null} */
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const detail = body?.detail ?? body?.message ?? body?.errors?.[0]?.message ?? (text.slice(0, 200) || res.statusText);
  const code = body?.error ?? body?.errors?.[0]?.code ?? `http_${res.status}`;
  const fields = body?.fields;
  const message = fields?.length ? `${detail} (${fields.map((f) => `${f.field}: ${f.message}`).join('; ')})` : detail;
  return new ApiError(`${res.status} ${message}`, res.status, code, fields);
}

/**
 * A JSON REST call; non-2xx answers throw ApiError (except the statuses listed in `accept`).
 * @param {string} path
 * @param {RequestInit & {accept?: number[]}} [init]
 * @returns {Promise<any>}
 */
export async function rest(path, init = {}) {
  const res = await authFetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  if (!res.ok && !(init.accept ?? []).includes(res.status)) throw await errorFrom(res);
  return res.json();
}

/**
 * A GraphQL query; GraphQL errors throw ApiError carrying `extensions.code`.
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @param {AbortSignal} [signal]
 * @returns {Promise<any>}
 */
export async function gql(query, variables = {}, signal) {
  const res = await authFetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json')) throw await errorFrom(res);
  /** @type {{data?: any, errors?: {message: string, extensions?: {code?: string}}[]}} */
  const body = await res.json();
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, res.status, first.extensions?.code ?? 'GRAPHQL_ERROR');
  if (!res.ok) throw new ApiError(`${res.status} ${res.statusText}`, res.status, `http_${res.status}`);
  return body.data;
}

/**
 * Follows a job's Server-Sent Events. Uses fetch (not EventSource) so the token header is sent; reconnects
 * with Last-Event-ID after a dropped connection and stops after the terminal state or when `signal` aborts.
 * @param {string} jobId
 * @param {(event: any) => void} onEvent a JobEvent (server/contracts.ts)
 * @param {AbortSignal} signal
 */
export async function followJobEvents(jobId, onEvent, signal) {
  let lastId = '';
  let retries = 0;
  while (!signal.aborted) {
    let ended = false;
    try {
      const headers = /** @type {Record<string, string>} */ ({ accept: 'text/event-stream' });
      if (lastId) headers['last-event-id'] = lastId;
      const res = await authFetch(`/developer/jobs/${encodeURIComponent(jobId)}/events`, { headers, signal });
      if (!res.ok || !res.body) throw await errorFrom(res);
      retries = 0;
      for await (const msg of sseMessages(res.body, signal)) {
        if (msg.id) lastId = msg.id;
        /** @type {any} */
        let event;
        try {
          event = JSON.parse(msg.data);
        } catch {
          continue;
        }
        onEvent(event);
        if (event.type === 'state' && isTerminal(event.state)) ended = true;
      }
      // The server closes the stream after the terminal state; a close before it is a dropped connection.
      if (ended) return;
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) throw e;
    }
    retries += 1;
    await sleep(Math.min(1000 * 2 ** retries, 15000), signal);
  }
}

/**
 * Parses an SSE byte stream into messages ({id, event, data}).
 * @param {ReadableStream<Uint8Array>} body
 * @param {AbortSignal} signal
 */
async function* sseMessages(body, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => {
    reader.cancel().catch(() => {});
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        /** @type {{id: string, event: string, data: string}} */
        const msg = { id: '', event: 'message', data: '' };
        const data = [];
        for (const line of block.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') data.push(val);
          else if (field === 'id') msg.id = val;
          else if (field === 'event') msg.event = val;
        }
        if (data.length) yield { ...msg, data: data.join('\n') };
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * @param {number} ms
 * @param {AbortSignal} signal
 */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
      { once: true },
    );
  });
}

/** @param {string | undefined | null} state */
export function isTerminal(state) {
  const s = (state ?? '').toLowerCase();
  return /** @type {readonly string[]} */ (terminalJobStates).includes(s);
}

const AIBOM_TYPE = 'application/vnd.cyclonedx+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * The full AIBoM JSON of a model manifest, read the way a registry client would: the referrers API, then
 * the `sha256-<hex>` fallback tag, then the AIBoM referrer's manifest and its one layer.
 * @param {string} repository e.g. models/iris
 * @param {string} digest the model manifest digest
 * @returns {Promise<any>}
 */
export async function fetchAibom(repository, digest) {
  const v2 = `/v2/${repository}`;
  let index = null;
  const ref = await authFetch(`${v2}/referrers/${digest}?artifactType=${encodeURIComponent(AIBOM_TYPE)}`, {
    headers: { accept: 'application/vnd.oci.image.index.v1+json' },
  });
  if (ref.ok) index = await ref.json();
  else {
    const tag = await authFetch(`${v2}/manifests/${digest.replace(':', '-')}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    if (!tag.ok) throw await errorFrom(tag);
    index = await tag.json();
  }
  /** @type {{digest: string, artifactType?: string}[]} */
  const manifests = index?.manifests ?? [];
  const hit = manifests.find((m) => m.artifactType === AIBOM_TYPE);
  if (!hit) throw new ApiError('no AIBoM referrer is attached to this model version', 404, 'not_found');
  const mres = await authFetch(`${v2}/manifests/${hit.digest}`, { headers: { accept: OCI_MANIFEST } });
  if (!mres.ok) throw await errorFrom(mres);
  const manifest = await mres.json();
  const layer = manifest.layers?.[0];
  if (!layer) throw new ApiError('the AIBoM referrer has no layer', 502, 'bad_referrer');
  const bres = await authFetch(`${v2}/blobs/${layer.digest}`);
  if (!bres.ok) throw await errorFrom(bres);
  return bres.json();
}
