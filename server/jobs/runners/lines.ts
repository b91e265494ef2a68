import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * A sink that writes to `path` up to `maxBytes` (then one marker line; the rest is consumed and dropped, so the
 * job never blocks on a full pipe) and hands each complete line to `onLine` (the trainer's JSON progress
 * protocol is line based). Lines over 1 MiB are passed on cut, never buffered without bound.
 */
export function lineTee(
  path: string,
  maxBytes: number,
  onLine?: (line: string) => void,
): { stream: Writable; done: Promise<void> } {
  const file = createWriteStream(path, { mode: 0o600 });
  let written = 0;
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (onLine) {
        partial += chunk.toString('utf8');
        let i: number;
        while ((i = partial.indexOf('\n')) >= 0) {
          onLine(partial.slice(0, i));
          partial = partial.slice(i + 1);
        }
        if (partial.length > 1024 * 1024) {
          onLine(partial);
          partial = '';
        }
      }
      if (written >= maxBytes) return cb();
      const part = written + chunk.length > maxBytes ? chunk.subarray(0, maxBytes - written) : chunk;
      written += part.length;
      if (written < maxBytes) return void file.write(part, cb);
      file.write(part);
      file.write(`\n[aibomgen: log cut at ${maxBytes} bytes (AIBOMGEN_JOB_LOG_BYTES); the rest was dropped]\n`, cb);
    },
    final(cb) {
      if (onLine && partial) onLine(partial);
      file.end(cb);
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    file.on('close', () => resolve());
    file.on('error', reject);
  });
  return { stream, done };
}
