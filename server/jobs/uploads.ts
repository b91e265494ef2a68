/**
 * A submission's parts to disk: every file is hashed (SHA-256) on its way to disk, sizes are capped per file
 * and per request, counts of files and fields are capped, and nothing is held whole in memory. The parts come
 * from anywhere: a streamed multipart/form-data body (busboy, the REST route) or files already received
 * (GraphQL). The caller owns `dir` and removes it when the submission is refused, so nothing is left behind.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { JobError } from './errors.ts';

/** One part of a submission: a text field, or a file as a stream (read once, in order). */
export type FormPart =
  | { field: string; value: string /** Cut short by the transport (busboy's field size limit). */; truncated?: boolean }
  | { field: string; filename: string; stream: Readable };

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

/** Longest text field accepted. */
export const MAX_FIELD_BYTES = 1024 * 1024;

/** A file name safe to use as one path segment: no directories, no leading dots, no control characters. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base
    .replace(/[^\w.+-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 200);
  return clean || 'file';
}

function tooLarge(what: string, limit: number): JobError {
  return new JobError('payload_too_large', `${what} is larger than the limit of ${limit} bytes`);
}

/**
 * Receives `parts` into `dir` (files as `<dir>/<n>-<name>`). Every part is read to its end even after a refusal
 * (over a limit, the rest is read and dropped, not written): a streamed body must be drained so the client gets
 * its answer instead of a stalled connection. Throws the first JobError (400/413 at the REST edge).
 */
export async function receiveParts(
  parts: AsyncIterable<FormPart> | Iterable<FormPart>,
  dir: string,
  limits: UploadLimits,
): Promise<Multipart> {
  await mkdir(dir, { recursive: true });
  const maxFiles = limits.files ?? 64;
  const maxFields = limits.fields ?? 200;
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  let fieldCount = 0;
  let total = 0;
  let failure: JobError | undefined;
  const fail = (e: JobError): void => {
    failure ??= e;
  };

  const receiveFile = async (field: string, name: string, stream: Readable): Promise<void> => {
    const filename = safeFileName(name);
    const path = join(dir, `${files.length}-${filename}`);
    const hash = createHash('sha256');
    let size = 0;
    let over = false;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        total += chunk.length;
        if (!over && total > limits.requestBytes) {
          over = true;
          fail(tooLarge('the request', limits.requestBytes));
        }
        if (!over && size > limits.fileBytes) {
          over = true;
          fail(tooLarge(`file ${field} (${filename})`, limits.fileBytes));
        }
        if (over) return cb();
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const entry: UploadedFile = { field, filename, path, digest: '', size: 0 };
    files.push(entry);
    try {
      await pipeline(stream, meter, createWriteStream(path, { mode: 0o644 }));
      entry.digest = `sha256:${hash.digest('hex')}`;
      entry.size = size;
    } catch (e) {
      stream.resume(); // keep a streamed body draining
      fail(
        e instanceof JobError
          ? e
          : new JobError('invalid_request', `upload of ${field} failed: ${(e as Error).message}`),
      );
    }
  };

  try {
    for await (const part of parts) {
      if (!('stream' in part)) {
        if (++fieldCount > maxFields)
          fail(new JobError('payload_too_large', `more than ${maxFields} fields in one request`));
        else if (part.truncated || Buffer.byteLength(part.value) > MAX_FIELD_BYTES)
          fail(new JobError('payload_too_large', `field ${part.field} is longer than 1 MiB`));
        if (fieldCount <= maxFields) fields[part.field] = part.value;
        continue;
      }
      if (files.length >= maxFiles)
        fail(new JobError('payload_too_large', `more than ${maxFiles} files in one request`));
      if (failure) part.stream.resume();
      else await receiveFile(part.field, part.filename, part.stream);
    }
  } catch (e) {
    fail(
      e instanceof JobError ? e : new JobError('invalid_request', `malformed multipart body: ${(e as Error).message}`),
    );
  }
  if (failure) throw failure;
  return { fields, files };
}

/**
 * The parts of a multipart/form-data body as busboy parses it, in order; a file's stream must be read (or
 * resumed) before the next part comes, which is what keeps the body streaming to disk and nothing buffered.
 * Throws JobError `invalid_request` for a body that is not multipart or is malformed.
 */
export async function* multipartParts(
  body: ReadableStream<Uint8Array> | null,
  contentType: string | undefined,
): AsyncGenerator<FormPart> {
  if (!body || !contentType?.toLowerCase().startsWith('multipart/form-data')) {
    throw new JobError('invalid_request', 'expected a multipart/form-data body');
  }
  let bb: busboy.Busboy;
  try {
    // Counts and sizes are checked by receiveParts; busboy only bounds what a field may hold in memory.
    bb = busboy({ headers: { 'content-type': contentType }, limits: { fieldSize: MAX_FIELD_BYTES } });
  } catch (e) {
    throw new JobError('invalid_request', `malformed multipart body: ${(e as Error).message}`);
  }
  const queue: FormPart[] = [];
  let ended = false;
  let error: Error | undefined;
  let discard = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  bb.on('field', (field, value, info) => {
    queue.push({ field, value, truncated: info.valueTruncated });
    notify();
  });
  bb.on('file', (field, stream, info) => {
    if (discard) stream.resume();
    else queue.push({ field, filename: info.filename ?? field, stream });
    notify();
  });
  void pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), bb).then(
    () => {
      ended = true;
      notify();
    },
    (e: Error) => {
      error = e;
      ended = true;
      notify();
    },
  );
  try {
    for (;;) {
      const next = queue.shift();
      if (next) yield next;
      else if (error) throw new JobError('invalid_request', `malformed multipart body: ${error.message}`);
      else if (ended) return;
      else await new Promise<void>((r) => (wake = r));
    }
  } finally {
    // Left early: the rest of the body is read and dropped, so the client still gets its answer.
    discard = true;
    for (const p of queue.splice(0)) if ('stream' in p) p.stream.resume();
  }
}
