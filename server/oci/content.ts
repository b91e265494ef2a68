import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestVerifier } from './digest.ts';

/**
 * What both OciTarget implementations (the HTTP client and the in-process registry) do with a blob stream once
 * they have one: check it against its digest, read it whole, or write it to a file.
 */

/** `body`, failing at its end when the bytes do not hash to `digest` (unless `verify` is false). */
export function verifiedStream(body: Readable, digest: string, verify = true): Readable {
  if (!verify) return body;
  const check = digestVerifier(digest);
  body.on('error', (e) => check.destroy(e));
  return body.pipe(check);
}

/** A small blob's bytes (configs, signatures, evidence). */
export async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Streams to `path`, written beside it first and renamed only once the stream ended cleanly (digest matched). */
export async function writeToFile(stream: Readable, path: string): Promise<number> {
  const tmp = `${path}.partial`;
  let n = 0;
  stream.on('data', (c: Buffer) => (n += c.length));
  try {
    await pipeline(stream, createWriteStream(tmp));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return n;
}
