import { Readable } from 'node:stream';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../context.ts';
import { RegistryError } from './errors.ts';
import { CLIENT_GONE, requestBody, sendFileSpan, streamResponse } from './node-io.ts';
import { SAFE_SERVING_HEADERS } from './safety.ts';
import type { RegistryService } from './service.ts';
import type { ByteRange, StoredManifest } from './store/port.ts';

/** /v2/ blob and upload routes: HTTP in and out; every decision is `RegistryService`'s. */
type C = Context<AppEnv>;
export interface RouteDeps {
  registry: RegistryService;
  log: Logger;
  maxManifestBytes: number;
  /** Pass a store's redirect to its object store to the client (config `registryBlobRedirect`). */
  blobRedirect?: boolean;
  /** The verified-pull policy (server/attest/pull-gate.ts), when on: throws to refuse a manifest GET on /v2/. */
  pullGate?: (repo: string, m: StoredManifest) => Promise<void>;
}

function parseRange(h: string | undefined): ByteRange | undefined {
  if (!h || /^bytes=-\d+$/.test(h.trim())) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(h.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', `unsupported Range ${h}`);
  return { start: Number(m[1]), end: m[2] ? Number(m[2]) : Number.MAX_SAFE_INTEGER };
}

export async function getBlob(d: RouteDeps, c: C, repo: string, digest: string, head: boolean): Promise<Response> {
  const caller = c.get('caller');
  let range = head ? undefined : parseRange(c.req.header('range'));
  const suffix = head ? null : /^bytes=-(\d+)$/.exec(c.req.header('range')?.trim() ?? '');
  if (head || suffix) {
    const st = await d.registry.statBlob(caller, repo, digest);
    if (!st) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
    if (head)
      return new Response(null, {
        status: 200,
        headers: {
          'Content-Length': String(st.size),
          'Docker-Content-Digest': digest,
          'Content-Type': 'application/octet-stream',
          'Accept-Ranges': 'bytes',
        },
      });
    // Suffix range: the last N bytes.
    range = { start: Math.max(st.size - Number(suffix![1]), 0), end: st.size - 1 };
  }
  const r = await d.registry.readBlob(caller, repo, digest, range, { redirect: d.blobRedirect === true });
  if (!r) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
  // The client fetches the bytes from the object store itself (and checks them against the digest it asked for).
  if (r.redirect)
    return new Response(null, {
      status: 307,
      headers: { Location: r.redirect, 'Docker-Content-Digest': digest, ...SAFE_SERVING_HEADERS },
    });
  const headers: Record<string, string> = {
    'Docker-Content-Digest': digest,
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
  };
  if (r.range) {
    headers['Content-Range'] = `bytes ${r.range.start}-${r.range.end}/${r.size}`;
    headers['Content-Length'] = String(r.range.end - r.range.start + 1);
  } else headers['Content-Length'] = String(r.size);
  const ended = (err: Error) => {
    // A client that goes away is routine; anything else (an upstream cut off, content not matching its digest) is not.
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const gone =
      ['ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ECONNRESET', 'EPIPE'].includes(code) ||
      err.message === CLIENT_GONE;
    d.log[gone ? 'debug' : 'warn']({ err, repo, digest }, 'blob response ended early');
  };
  const status = r.range ? 206 : 200;
  // Streamed past Hono (node-io.ts): the safe-serving headers the /v2 middleware adds must be written here.
  Object.assign(headers, SAFE_SERVING_HEADERS);
  return r.file
    ? sendFileSpan(c, status, headers, r.file, r.body, ended)
    : streamResponse(c, status, headers, r.body, ended);
}

export async function deleteBlob(d: RouteDeps, c: C, repo: string, digest: string): Promise<Response> {
  if (!(await d.registry.deleteBlob(c.get('caller'), repo, digest)))
    throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
  return new Response(null, { status: 202 });
}

/** The request's Content-Length, when it sent one (a chunked body has none). */
function declared(c: C): number | undefined {
  const h = c.req.header('content-length');
  return h && /^\d+$/.test(h) ? Number(h) : undefined;
}

function uploadHeaders(repo: string, id: string, offset: number): Record<string, string> {
  return {
    Location: `/v2/${repo}/blobs/uploads/${id}`,
    'Docker-Upload-UUID': id,
    Range: `0-${Math.max(offset - 1, 0)}`,
  };
}

/** The start of a `Content-Range: <start>-<end>` chunk header (RANGE_INVALID when malformed). */
function chunkStart(c: C): number | undefined {
  const cr = c.req.header('content-range');
  if (!cr) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(cr.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', `bad Content-Range ${cr}`);
  return Number(m[1]);
}

export async function startUpload(d: RouteDeps, c: C, repo: string): Promise<Response> {
  const caller = c.get('caller');
  const mount = c.req.query('mount');
  const from = c.req.query('from');
  if (mount && from) {
    const st = await d.registry.mountBlob(caller, repo, from, mount);
    if (st)
      return new Response(null, {
        status: 201,
        headers: { Location: `/v2/${repo}/blobs/${mount}`, 'Docker-Content-Digest': mount },
      });
  }
  const digest = c.req.query('digest');
  if (digest) {
    await d.registry.pushBlob(caller, repo, digest, requestBody(c) ?? Readable.from([]), declared(c));
    return new Response(null, {
      status: 201,
      headers: { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest },
    });
  }
  const u = await d.registry.startUpload(caller, repo);
  return new Response(null, { status: 202, headers: uploadHeaders(repo, u.id, 0) });
}

export async function uploadStatus(d: RouteDeps, c: C, repo: string, id: string): Promise<Response> {
  const u = await d.registry.uploadStatus(c.get('caller'), repo, id);
  return new Response(null, { status: 204, headers: uploadHeaders(repo, id, u.offset) });
}

export async function patchUpload(d: RouteDeps, c: C, repo: string, id: string): Promise<Response> {
  const u = await d.registry.appendUpload(
    c.get('caller'),
    repo,
    id,
    requestBody(c) ?? Readable.from([]),
    chunkStart(c),
    declared(c),
  );
  return new Response(null, { status: 202, headers: uploadHeaders(repo, id, u.offset) });
}

export async function completeUpload(d: RouteDeps, c: C, repo: string, id: string): Promise<Response> {
  const digest = c.req.query('digest');
  if (!digest) throw new RegistryError('DIGEST_INVALID', 'PUT needs ?digest=');
  // A final chunk may carry Content-Range: out of order → 416 before anything is appended.
  const st = await d.registry.completeUpload(
    c.get('caller'),
    repo,
    id,
    digest,
    requestBody(c),
    chunkStart(c),
    declared(c),
  );
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${repo}/blobs/${st.digest}`, 'Docker-Content-Digest': st.digest },
  });
}

export async function cancelUpload(d: RouteDeps, c: C, repo: string, id: string): Promise<Response> {
  await d.registry.cancelUpload(c.get('caller'), repo, id);
  return new Response(null, { status: 204 });
}
