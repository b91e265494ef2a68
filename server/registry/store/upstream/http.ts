import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { RegistryErrorStatus, type RegistryErrorCode } from '../../../../schema/oci.ts';
import { RegistryError } from '../../errors.ts';

export type UpstreamResponse = Dispatcher.ResponseData;

export interface CallOptions {
  headers?: Record<string, string>;
  /** Streamed as-is (chunked transfer encoding): undici never buffers a Readable body. */
  body?: Readable | Uint8Array;
}

/**
 * HTTP to the upstream distribution registry with undici's `request` — not `fetch`, which buffers a
 * streamed request body whole (1 GiB upload → 1.1 GB RSS, see FACTS). One keep-alive agent per store.
 */
export class UpstreamHttp {
  private readonly agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 64,
    // Headers of a blob PUT arrive only after the registry has stored the whole body.
    headersTimeout: 10 * 60_000,
    bodyTimeout: 5 * 60_000,
  });

  constructor(readonly baseUrl: string) {}

  /** Absolute URL for a path (`/v2/...`) or a Location the upstream returned (absolute or relative). */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, this.baseUrl);
  }

  call(method: Dispatcher.HttpMethod, target: string | URL, opts: CallOptions = {}): Promise<UpstreamResponse> {
    const url = typeof target === 'string' ? this.url(target) : target;
    return request(url, { method, dispatcher: this.agent, headers: opts.headers, body: opts.body ?? null });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** A response header as one string (undici gives string[] for repeated headers). */
export function header(res: UpstreamResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Codes distribution 2.8 uses that the spec folds into one of its own. */
const foldedCodes: Record<string, RegistryErrorCode> = {
  TAG_INVALID: 'MANIFEST_INVALID',
  MANIFEST_UNVERIFIED: 'MANIFEST_INVALID',
  PAGINATION_NUMBER_INVALID: 'UNSUPPORTED',
};

/**
 * Turns a failed upstream response into the error the front renders: the spec's code when the upstream
 * named one (its message kept as the detail's source), RANGE_INVALID for a bare 416, otherwise a plain
 * Error (the front answers 500 UNKNOWN and logs it). Consumes the body.
 */
export async function upstreamError(res: UpstreamResponse, what: string): Promise<Error> {
  const text = (await res.body.text().catch(() => '')).slice(0, 4096);
  let errors: { code?: string; message?: string; detail?: unknown }[] = [];
  try {
    errors = (JSON.parse(text) as { errors?: typeof errors }).errors ?? [];
  } catch {
    // not the spec's JSON error form
  }
  // 2.8 may list several errors, some only UNKNOWN: the first one the spec names decides.
  for (const e of errors) {
    const code = e.code && (e.code in RegistryErrorStatus ? (e.code as RegistryErrorCode) : foldedCodes[e.code]);
    if (code) return new RegistryError(code, `${what}: ${e.message ?? code}`, e.detail);
  }
  if (res.statusCode === 416) return new RegistryError('RANGE_INVALID', `${what}: range not satisfiable`);
  return new Error(`upstream registry answered ${res.statusCode} to ${what}${text ? `: ${text.slice(0, 300)}` : ''}`);
}

/** Consumes a response that must have one of the `ok` statuses; otherwise throws its mapped error. */
export async function expectStatus(res: UpstreamResponse, ok: number[], what: string): Promise<void> {
  if (!ok.includes(res.statusCode)) throw await upstreamError(res, what);
  await res.body.dump();
}

/** Reads a small body (manifests, tag lists) with a size cap, so a misbehaving upstream cannot exhaust memory. */
export async function readCapped(res: UpstreamResponse, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      res.body.destroy();
      throw new Error(`upstream ${what} is larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The `rel="next"` target of a Link header, if any. */
export function nextLink(res: UpstreamResponse): string | undefined {
  return /<([^>]+)>;\s*rel="?next"?/.exec(header(res, 'link') ?? '')?.[1];
}
