/**
 * Streams a multipart/form-data request to disk with busboy: every file is hashed (SHA-256) on its way to
 * disk, sizes are capped per file and per request, and nothing is buffered whole. The caller owns `dir`
 * and removes it when the request is rejected, so a refused upload leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { HttpError } from '../api-error.ts';

export interface UploadedFile {
  field: string;
  /** The client's file name, reduced to a safe base name. */
  filename: string;
  path: string;
  digest: string;
  size: number;
}

export interface Multipart {
  fields: Record<string, string>;
  files: UploadedFile[];
}

export interface UploadLimits {
  fileBytes: number;
  requestBytes: number;
  files?: number;
  fields?: number;
}

/** A file name safe to use as one path segment: no directories, no leading dots, no control characters. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\w.+-]/g, '_').replace(/^\.+/, '').slice(0, 200);
  return clean || 'file';
}

function tooLarge(what: string, limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `${what} is larger than the limit of ${limit} bytes`);
}

/** Receives the request body into `dir` (files as `<dir>/<n>-<name>`); throws HttpError 400/413. */
export async function receiveMultipart(body: ReadableStream<Uint8Array> | null, contentType: string | undefined, dir: string, limits: UploadLimits): Promise<Multipart> {
  if (!body || !contentType?.toLowerCase().startsWith('multipart/form-data')) {
    throw new HttpError(400, 'invalid_request', 'expected a multipart/form-data body');
  }
  await mkdir(dir, { recursive: true });
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { 'content-type': contentType },
      limits: { fileSize: limits.fileBytes, files: limits.files ?? 64, fields: limits.fields ?? 200, fieldSize: 1024 * 1024 },
    });
  } catch (e) {
    throw new HttpError(400, 'invalid_request', `malformed multipart body: ${(e as Error).message}`);
  }
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  const writes: Promise<void>[] = [];
  let total = 0;
  let failure: HttpError | undefined;
  const fail = (e: HttpError): void => {
    failure ??= e;
  };

  bb.on('field', (name, value, info) => {
    if (info.valueTruncated) fail(new HttpError(413, 'payload_too_large', `field ${name} is longer than 1 MiB`));
    fields[name] = value;
  });
  bb.on('filesLimit', () => fail(new HttpError(413, 'payload_too_large', `more than ${limits.files ?? 64} files in one request`)));
  bb.on('fieldsLimit', () => fail(new HttpError(413, 'payload_too_large', `more than ${limits.fields ?? 200} fields in one request`)));
  bb.on('file', (field, stream, info) => {
    if (failure) {
      stream.resume();
      return;
    }
    const filename = safeFileName(info.filename ?? field);
    const path = join(dir, `${files.length}-${filename}`);
    const hash = createHash('sha256');
    let size = 0;
    // Over a limit, the rest is read and dropped (not written): busboy must drain the body so the client
    // gets its 413 instead of a stalled connection; the caller removes the partial files.
    let over = false;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        total += chunk.length;
        if (total > limits.requestBytes) {
          over = true;
          fail(tooLarge('the request', limits.requestBytes));
        }
        if (over) return cb();
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    stream.on('limit', () => {
      over = true;
      fail(tooLarge(`file ${field} (${filename})`, limits.fileBytes));
    });
    const entry: UploadedFile = { field, filename, path, digest: '', size: 0 };
    files.push(entry);
    writes.push(
      pipeline(stream, meter, createWriteStream(path, { mode: 0o644 })).then(
        () => {
          entry.digest = `sha256:${hash.digest('hex')}`;
          entry.size = size;
        },
        (e: unknown) => {
          stream.resume(); // keep busboy draining the rest of the body
          fail(e instanceof HttpError ? e : new HttpError(400, 'invalid_request', `upload of ${field} failed: ${(e as Error).message}`));
        },
      ),
    );
  });

  try {
    await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), bb);
  } catch (e) {
    fail(new HttpError(400, 'invalid_request', `malformed multipart body: ${(e as Error).message}`));
  }
  await Promise.all(writes);
  if (failure) throw failure;
  return { fields, files };
}
