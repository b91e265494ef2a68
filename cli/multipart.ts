import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { CliError, usageError } from './errors.ts';
import { unreachable, type PlatformClient } from './platform.ts';

export interface FilePart {
  field: string;
  path: string;
  contentType?: string;
}

/** Quoted-string safe for Content-Disposition (no CR/LF, quotes escaped as browsers do). */
function q(s: string): string {
  return s.replace(/[\r\n]/g, ' ').replace(/"/g, '%22');
}

/**
 * POSTs multipart/form-data with the files streamed from disk (Node's fetch would buffer the whole body,
 * so this uses undici.request with a known Content-Length). `onProgress` sees the bytes sent so far.
 */
export async function postMultipart(
  client: PlatformClient,
  path: string,
  fields: Record<string, string>,
  files: FilePart[],
  onProgress?: (sent: number, total: number) => void,
): Promise<{ status: number; body: string }> {
  const boundary = `----aibomgen${randomBytes(12).toString('hex')}`;
  const sizes: number[] = [];
  for (const f of files) {
    const st = await stat(f.path).catch(() => undefined);
    if (!st?.isFile()) throw usageError(`--${f.field.replace(/_/g, '-')} ${f.path} is not a readable file`);
    sizes.push(st.size);
  }
  const fieldParts = Object.entries(fields).map(([k, v]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${q(k)}"\r\n\r\n${v}\r\n`),
  );
  const fileHeads = files.map((f) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${q(f.field)}"; filename="${q(basename(f.path))}"\r\nContent-Type: ${f.contentType ?? 'application/octet-stream'}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const total =
    fieldParts.reduce((n, b) => n + b.length, 0) +
    fileHeads.reduce((n, b) => n + b.length + 2, 0) +
    sizes.reduce((n, s) => n + s, 0) +
    tail.length;
  let sent = 0;
  const tick = (n: number): void => {
    sent += n;
    onProgress?.(sent, total);
  };
  async function* body(): AsyncGenerator<Buffer> {
    for (const b of fieldParts) {
      tick(b.length);
      yield b;
    }
    for (let i = 0; i < files.length; i++) {
      tick(fileHeads[i]!.length);
      yield fileHeads[i]!;
      for await (const chunk of createReadStream(files[i]!.path, { highWaterMark: 1024 * 1024 })) {
        tick((chunk as Buffer).length);
        yield chunk as Buffer;
      }
      tick(2);
      yield Buffer.from('\r\n');
    }
    tick(tail.length);
    yield tail;
  }
  const { request } = await import('undici');
  try {
    const res = await request(`${client.baseUrl}${path}`, {
      method: 'POST',
      headers: client.headers({
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(total),
        accept: 'application/json',
      }),
      body: Readable.from(body()),
    });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw unreachable(client.baseUrl, { cause: e });
  }
}
