import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { digestPattern, repositoryNamePattern } from '../../schema/oci.ts';
import type { AppEnv, Services } from '../context.ts';
import { authorize } from './access.ts';
import { RegistryError } from './errors.ts';
import { CLIENT_GONE, requestBody, sendFileSpan, streamResponse } from './node-io.ts';
import type { ByteRange } from './store/port.ts';

type C = Context<AppEnv>;


function checkDigest(d: string): string {
  if (!digestPattern.test(d) || !/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(d)) throw new RegistryError('DIGEST_INVALID', `invalid digest ${d}`);
  return d;
}

function parseRange(h: string | undefined): ByteRange | undefined {
  if (!h || /^bytes=-\d+$/.test(h.trim())) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(h.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', `unsupported Range ${h}`);
  return { start: Number(m[1]), end: m[2] ? Number(m[2]) : Number.MAX_SAFE_INTEGER };
}

export async function getBlob(s: Services, c: C, repo: string, digest: string, head: boolean): Promise<Response> {
  authorize(s, c, repo, 'pull');
  checkDigest(digest);
  let range = head ? undefined : parseRange(c.req.header('range'));
  const suffix = head ? null : /^bytes=-(\d+)$/.exec(c.req.header('range')?.trim() ?? '');
  if (suffix) {
    // Suffix range: the last N bytes.
    const st = await s.store.statBlob(repo, digest);
    if (!st) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
    range = { start: Math.max(st.size - Number(suffix[1]), 0), end: st.size - 1 };
  }
  if (head) {
    const st = await s.store.statBlob(repo, digest);
    if (!st) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
    return new Response(null, { status: 200, headers: { 'Content-Length': String(st.size), 'Docker-Content-Digest': digest, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' } });
  }
  const r = await s.store.readBlob(repo, digest, range);
  if (!r) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
  const headers: Record<string, string> = { 'Docker-Content-Digest': digest, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
  if (r.range) {
    headers['Content-Range'] = `bytes ${r.range.start}-${r.range.end}/${r.size}`;
    headers['Content-Length'] = String(r.range.end - r.range.start + 1);
  } else headers['Content-Length'] = String(r.size);
  s.events.emit('blob.bytes', { direction: 'out', bytes: Number(headers['Content-Length']) });
  const ended = (err: Error) => {
    // A client that goes away is routine; anything else (an upstream cut off, content not matching its digest) is not.
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const gone = ['ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ECONNRESET', 'EPIPE'].includes(code) || err.message === CLIENT_GONE;
    s.log[gone ? 'debug' : 'warn']({ err, repo, digest }, 'blob response ended early');
  };
  const status = r.range ? 206 : 200;
  return r.file ? sendFileSpan(c, status, headers, r.file, r.body, ended) : streamResponse(c, status, headers, r.body, ended);
}

export async function deleteBlob(s: Services, c: C, repo: string, digest: string): Promise<Response> {
  authorize(s, c, repo, 'delete');
  if (!(await s.store.deleteBlob(repo, checkDigest(digest)))) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
  return new Response(null, { status: 202 });
}

function uploadHeaders(repo: string, id: string, offset: number): Record<string, string> {
  return { Location: `/v2/${repo}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: `0-${Math.max(offset - 1, 0)}` };
}

export async function startUpload(s: Services, c: C, repo: string): Promise<Response> {
  authorize(s, c, repo, 'push');
  const mount = c.req.query('mount');
  const from = c.req.query('from');
  if (mount && from) {
    // `from` names a repository too: the same grammar (it reaches the store as a path in embedded mode).
    if (from.length > 255 || !repositoryNamePattern.test(from)) throw new RegistryError('NAME_INVALID', `invalid repository name ${from} in from=`);
    authorize(s, c, from, 'pull'); // mounting reads the source repository
    const st = await s.store.mountBlob(repo, from, checkDigest(mount));
    if (st) return new Response(null, { status: 201, headers: { Location: `/v2/${repo}/blobs/${mount}`, 'Docker-Content-Digest': mount } });
  }
  const digest = c.req.query('digest');
  const u = await s.store.createUpload(repo);
  if (digest) {
    checkDigest(digest);
    const st = await s.store.completeUpload(repo, u.id, digest, requestBody(c));
    s.events.emit('blob.bytes', { direction: 'in', bytes: st.size });
    return new Response(null, { status: 201, headers: { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest } });
  }
  return new Response(null, { status: 202, headers: uploadHeaders(repo, u.id, 0) });
}

export async function uploadStatus(s: Services, c: C, repo: string, id: string): Promise<Response> {
  authorize(s, c, repo, 'push');
  const u = await s.store.getUpload(repo, id);
  if (!u) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
  return new Response(null, { status: 204, headers: uploadHeaders(repo, id, u.offset) });
}

export async function patchUpload(s: Services, c: C, repo: string, id: string): Promise<Response> {
  authorize(s, c, repo, 'push');
  const cr = c.req.header('content-range');
  let start: number | undefined;
  if (cr) {
    const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(cr.trim());
    if (!m) throw new RegistryError('RANGE_INVALID', `bad Content-Range ${cr}`);
    start = Number(m[1]);
  }
  const body = requestBody(c) ?? Readable.from([]);
  const u = await s.store.appendUpload(repo, id, body, start);
  return new Response(null, { status: 202, headers: uploadHeaders(repo, id, u.offset) });
}

export async function completeUpload(s: Services, c: C, repo: string, id: string): Promise<Response> {
  authorize(s, c, repo, 'push');
  const digest = c.req.query('digest');
  if (!digest) throw new RegistryError('DIGEST_INVALID', 'PUT needs ?digest=');
  // A final chunk may carry Content-Range: out of order → 416 before anything is appended.
  const cr = c.req.header('content-range');
  if (cr) {
    const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(cr.trim());
    const u = await s.store.getUpload(repo, id);
    if (!u) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
    if (!m || Number(m[1]) !== u.offset) throw new RegistryError('RANGE_INVALID', `chunk ${cr} does not start at ${u.offset}`);
  }
  const st = await s.store.completeUpload(repo, id, checkDigest(digest), requestBody(c));
  s.events.emit('blob.bytes', { direction: 'in', bytes: st.size });
  return new Response(null, { status: 201, headers: { Location: `/v2/${repo}/blobs/${st.digest}`, 'Docker-Content-Digest': st.digest } });
}

export async function cancelUpload(s: Services, c: C, repo: string, id: string): Promise<Response> {
  authorize(s, c, repo, 'delete');
  if (!(await s.store.cancelUpload(repo, id))) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
  return new Response(null, { status: 204 });
}
