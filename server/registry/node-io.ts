import { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';

/**
 * Blob bodies go straight between the socket and the store when the app runs under @hono/node-server: the
 * Web-stream round trip (node stream → ReadableStream → node stream, a promise per 64 KiB chunk) was most of
 * the front's CPU per GiB moved (bench/registry prints it). Requests made in process (selfFetch,
 * app.request) have no node bindings and take the Web path, which stays the reference.
 */

type C = Context<AppEnv>;

/** The request body as a node stream: the socket's own when nothing has started reading it, else the Web body's. */
export function requestBody(c: C): Readable | undefined {
  const incoming: unknown = c.env?.incoming;
  // Untouched: no Web stream was built over it (that would have read or listened already).
  if (incoming instanceof IncomingMessage && !incoming.readableDidRead && incoming.listenerCount('data') === 0 && !c.req.raw.bodyUsed) return incoming;
  const b = c.req.raw.body;
  return b ? Readable.fromWeb(b as import('node:stream/web').ReadableStream<Uint8Array>) : undefined;
}

/**
 * Answers with `body` streamed: written to the node response directly when there is one (the request id
 * header the app's middleware adds afterwards is set here, as it would not reach a response already sent).
 */
export function streamResponse(c: C, status: number, headers: Record<string, string>, body: Readable, onError?: (err: Error) => void): Response {
  const outgoing: unknown = c.env?.outgoing;
  if (!(outgoing instanceof ServerResponse)) return new Response(Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>, { status, headers });
  const requestId = c.get('requestId');
  outgoing.writeHead(status, requestId ? { ...headers, 'X-Request-Id': requestId } : headers);
  // A failure mid-stream (client gone, upstream cut, a digest that did not match) ends the connection.
  pipeline(body, outgoing).catch((err: Error) => onError?.(err));
  return RESPONSE_ALREADY_SENT;
}
