import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ADMIN_TOKEN_FILE } from '../server/auth/bootstrap.ts';
import type { ApiError } from '../schema/api.ts';
import { readConfig } from './config.ts';
import { CliError, ExitCode, type ExitCodeValue } from './errors.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** Which platform to talk to and with which token. */
export interface PlatformTarget {
  baseUrl: string;
  token?: string;
}

/**
 * --server on the command line, else AIBOMGEN_SERVER, else the server stored by `aibomgen login`, else the
 * local default. The token (AIBOMGEN_TOKEN, else the stored one) is only sent to the server it was stored
 * for, so `--server https://elsewhere` never leaks it. Without either, the local server (`npm start` here) gets
 * the administrator token its first start left in ./data/keys/admin.token (`localAdminToken`).
 */
export function resolvePlatform(cmd: Command): PlatformTarget {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  const flag = root.getOptionValueSource('server') === 'cli' ? (root.opts() as { server?: string }).server : undefined;
  const cfg = readConfig();
  const raw = flag ?? process.env.AIBOMGEN_SERVER ?? cfg?.server ?? DEFAULT_SERVER;
  let baseUrl: string;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    baseUrl = u.toString().replace(/\/+$/, '');
  } catch {
    throw new CliError(`--server must be an http(s) URL, got ${JSON.stringify(raw)}`, ExitCode.usage);
  }
  const token =
    process.env.AIBOMGEN_TOKEN ||
    (cfg?.token && sameOrigin(cfg.server, baseUrl) ? cfg.token : undefined) ||
    (cfg ? undefined : localAdminToken(baseUrl));
  return token ? { baseUrl, token } : { baseUrl };
}

/**
 * The first start's administrator token, for the server `npm start` in this directory runs: a loopback URL on
 * PORT (default 8080), its keys in AIBOMGEN_KEYS_DIR, else AIBOMGEN_DATA_DIR/keys, else ./data/keys. Never for
 * another host, so the token cannot leave this machine.
 */
export function localAdminToken(baseUrl: string, env = process.env, cwd = process.cwd()): string | undefined {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    return undefined;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'http:' || !loopback || (u.port || '80') !== (env.PORT || '8080')) return undefined;
  const keys = env.AIBOMGEN_KEYS_DIR || join(env.AIBOMGEN_DATA_DIR || 'data', 'keys');
  try {
    return readFileSync(resolve(cwd, keys, ADMIN_TOKEN_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined; // none made here (auth off, AIBOMGEN_TOKENS, or not this directory's server)
  }
}

export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** Exit code for an HTTP error status from the platform's REST API. */
export function exitCodeForStatus(status: number): ExitCodeValue {
  if (status === 404) return ExitCode.notFound;
  if (status === 400 || status === 422) return ExitCode.usage;
  return ExitCode.failure;
}

/** REST (and GraphQL) client for one platform: adds the token, turns every failure into one CliError sentence. */
export class PlatformClient {
  constructor(readonly target: PlatformTarget) {}

  get baseUrl(): string {
    return this.target.baseUrl;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.target.token ? { authorization: `Bearer ${this.target.token}` } : {}), ...extra };
  }

  /** A raw request; only network failures throw (HTTP errors are the caller's to read). */
  async fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    try {
      return await fetch(url, { ...init, headers: this.headers(init.headers) });
    } catch (e) {
      throw unreachable(this.baseUrl, e);
    }
  }

  /** A JSON request; a non-2xx answer throws a CliError built from the ApiError body. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    if (!res.ok) throw await apiError(res, `${method} ${path}`);
    return (await res.json()) as T;
  }

  /** A GraphQL operation; errors carry `extensions.code` (NOT_FOUND → 3, BAD_USER_INPUT → 2). */
  async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await this.fetch('/graphql', {
      method: 'POST',
      body: JSON.stringify({ query, variables }),
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    });
    if (res.status === 404 && !(res.headers.get('content-type') ?? '').includes('json')) {
      await res.arrayBuffer();
      throw new CliError(`the platform at ${this.baseUrl} has no GraphQL endpoint (/graphql answered 404)`);
    }
    let doc: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      doc = (await res.json()) as typeof doc;
    } catch {
      throw new CliError(`/graphql at ${this.baseUrl} answered ${res.status} without a GraphQL response`);
    }
    const first = doc.errors?.[0];
    if (first) {
      const code = first.extensions?.code;
      throw new CliError(
        first.message,
        code === 'NOT_FOUND'
          ? ExitCode.notFound
          : code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED'
            ? ExitCode.usage
            : ExitCode.failure,
      );
    }
    if (!doc.data) throw new CliError(`/graphql at ${this.baseUrl} answered ${res.status} with no data`);
    return doc.data;
  }
}

export function unreachable(baseUrl: string, e: unknown): CliError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
  return new CliError(
    `cannot reach the platform at ${baseUrl} (${why}); is the server running? (aibomgen server, or --server <url>)`,
  );
}

/** Builds the CliError for a failed REST answer: the ApiError detail plus any failing fields. */
export async function apiError(res: Response, what: string): Promise<CliError> {
  return apiErrorFromText(res.status, await res.text().catch(() => ''), what);
}

export function apiErrorFromText(status: number, text: string, what: string): CliError {
  let detail = '';
  try {
    const body = JSON.parse(text) as Partial<ApiError>;
    detail = body.detail ?? body.error ?? '';
    // Name the failing fields, unless the sentence already says what each one does wrong.
    const extra = (body.fields ?? []).filter((f) => !detail.includes(f.message));
    if (extra.length) detail += ` (${extra.map((f) => `${f.field}: ${f.message}`).join('; ')})`;
    else if (body.fields?.length && !body.fields.every((f) => detail.includes(f.field)))
      detail += ` (${body.fields.map((f) => f.field).join(', ')})`;
  } catch {
    detail = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
  }
  if (status === 401 || status === 403)
    return new CliError(`${detail || `${what} was refused (${status})`}; run aibomgen login with a valid token`);
  return new CliError(detail || `${what} answered ${status}`, exitCodeForStatus(status));
}
