import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * A sink that writes everything to `path` and hands each complete line to `onLine` (the trainer's JSON
 * progress protocol is line based). Lines over 1 MiB are passed on cut, never buffered without bound.
 */
export function lineTee(path: string, onLine?: (line: string) => void): { stream: Writable; done: Promise<void> } {
  const file = createWriteStream(path, { mode: 0o600 });
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
      file.write(chunk, cb);
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
