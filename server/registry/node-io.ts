import { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import type { FileSpan } from './store/port.ts';

/**
 * Blob bodies go straight between the socket and the store when the app runs under @hono/node-server: the
 * Web-stream round trip (node stream → ReadableStream → node stream, a promise per 64 KiB chunk) was most of
 * the front's CPU per GiB moved (bench/registry prints it). Requests without a socket (tests calling
 * app.fetch or app.request) have no node bindings and take the Web path, which stays the reference.
 */

type C = Context<AppEnv>;

/** The request body as a node stream: the socket's own when nothing has started reading it, else the Web body's. */
export function requestBody(c: C): Readable | undefined {
  const incoming: unknown = c.env?.incoming;
  // Untouched: no Web stream was built over it (that would have read or listened already).
  if (
    incoming instanceof IncomingMessage &&
    !incoming.readableDidRead &&
    incoming.listenerCount('data') === 0 &&
    !c.req.raw.bodyUsed
  )
    return incoming;
  const b = c.req.raw.body;
  return b ? Readable.fromWeb(b as import('node:stream/web').ReadableStream<Uint8Array>) : undefined;
}

/**
 * Answers with `body` streamed: written to the node response directly when there is one (the request id
 * header the app's middleware adds afterwards is set here, as it would not reach a response already sent).
 */
export function streamResponse(
  c: C,
  status: number,
  headers: Record<string, string>,
  body: Readable,
  onError?: (err: Error) => void,
): Response {
  const outgoing: unknown = c.env?.outgoing;
  if (!(outgoing instanceof ServerResponse))
    return new Response(Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>, { status, headers });
  writeHead(c, outgoing, status, headers);
  // A failure mid-stream (client gone, upstream cut, a digest that did not match) ends the connection.
  pipeline(body, outgoing).catch((err: Error) => onError?.(err));
  return RESPONSE_ALREADY_SENT;
}

/**
 * Answers with bytes of a local file (an embedded-store blob). Under @hono/node-server they are read into
 * a few buffers reused for the whole response and the process-wide pool, rather than a new 1 MiB buffer
 * per chunk as a file stream allocates: on a VM that hands freed memory back to its host (Firecracker's
 * balloon with free-page reporting, as here), that allocation churn put a 1 GiB pull at 1.8–2.3 server CPU s
 * in some runs instead of 0.3–0.5, and slowed the client too; with reused buffers it is 0.25–0.37 s in every
 * run (bench/registry). Node has no sendfile(2); this is the nearest thing.
 * `body` (reading the same handle) is the in-process path; it is destroyed here otherwise, closing the file.
 */
export function sendFileSpan(
  c: C,
  status: number,
  headers: Record<string, string>,
  span: FileSpan,
  body: Readable,
  onError?: (err: Error) => void,
): Response {
  const outgoing: unknown = c.env?.outgoing;
  if (!(outgoing instanceof ServerResponse)) return streamResponse(c, status, headers, body, onError);
  writeHead(c, outgoing, status, headers);
  copySpan(span, outgoing)
    .then(() => outgoing.end())
    .catch((err: Error) => {
      outgoing.destroy(err);
      onError?.(err);
    })
    .finally(() => body.destroy());
  return RESPONSE_ALREADY_SENT;
}

/**
 * The head of a response sent past Hono: the request id its middleware would add, and the safe-serving headers
 * the /v2/ middleware sets on every other answer (it cannot reach one already sent).
 */
function writeHead(c: C, out: ServerResponse, status: number, headers: Record<string, string>): void {
  const requestId = c.get('requestId');
  out.writeHead(status, { ...headers, ...(requestId ? { 'X-Request-Id': requestId } : {}) });
}

export const CLIENT_GONE = 'response closed before the body was sent';

const CHUNK = 512 * 1024;
/** Buffers in use by one response: one being filled while the others are written. */
const PER_RESPONSE = 3;
/** Idle buffers kept for the next responses (4 MiB at most). */
const pool: Buffer[] = [];
const POOL_MAX = 8;

async function copySpan({ handle, start, end }: FileSpan, out: ServerResponse): Promise<void> {
  const mine: Buffer[] = [];
  const writing: Promise<void>[] = [];
  try {
    for (let pos = start, i = 0; pos <= end; i++) {
      if (mine.length < PER_RESPONSE) mine.push(pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK));
      // The buffer about to be filled was handed to the oldest write still in flight: wait for it.
      if (writing.length >= PER_RESPONSE - 1) await writing.shift();
      const buf = mine[i % PER_RESPONSE]!;
      const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error(`file ended at ${pos}, before ${end + 1}`);
      pos += bytesRead;
      const w = writeChunk(out, buf.subarray(0, bytesRead));
      w.catch(() => {}); // awaited below, maybe only after it failed: not an unhandled rejection meanwhile
      writing.push(w);
    }
    await Promise.all(writing);
  } finally {
    // Buffers go back to the pool only once no write holds them.
    await Promise.allSettled(writing);
    for (const b of mine) if (pool.length < POOL_MAX) pool.push(b);
  }
}

/** Resolves once `chunk` was handed to the socket (so its buffer may be reused); rejects if the response closes first. */
function writeChunk(out: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.destroyed) return reject(new Error(CLIENT_GONE));
    const closed = () => reject(new Error(CLIENT_GONE));
    out.once('close', closed);
    out.write(chunk, (err) => {
      out.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}
