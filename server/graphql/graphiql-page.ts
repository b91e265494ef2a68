import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const require = createRequire(import.meta.url);
/** The CommonJS entry of @graphql-yoga/render-graphiql (GraphiQL with its assets inlined: no CDN). */
const RENDERER = require.resolve('@graphql-yoga/render-graphiql');

/**
 * GraphiQL's page as a file: rendered by @graphql-yoga/render-graphiql in a child process, cached under
 * `cacheDir`, to be streamed to the socket. Why not in process: the module inlines ~9 MB of scripts; importing
 * it and rendering the page kept ~100 MB more RSS in the server for good (measured 150 → 250 MB after one
 * page, 270 MB after four), and even streaming the file through yoga's Response added ~30 MB, against a
 * 200 MB budget for the whole server. `<file>.gz` is made beside it.
 */
export function graphiqlPage(cacheDir: string): (opts: object) => Promise<string> {
  const pending = new Map<string, Promise<void>>();
  let version: Promise<string> | undefined; // of the renderer, read once: a new version renders a new file
  return async (opts) => {
    const json = JSON.stringify(opts);
    version ??= readFile(join(dirname(dirname(RENDERER)), 'package.json'), 'utf8').then(
      (t) => (JSON.parse(t) as { version: string }).version,
    );
    const file = join(
      cacheDir,
      `graphiql-${createHash('sha256')
        .update(`${await version}\n${json}`)
        .digest('hex')
        .slice(0, 16)}.html`,
    );
    if (
      !(await stat(file).then(
        () => true,
        () => false,
      ))
    ) {
      let job = pending.get(file);
      if (!job) {
        job = render(json, file).finally(() => pending.delete(file));
        pending.set(file, job);
      }
      await job;
    }
    return file;
  };
}

/** Runs the renderer with its output going straight to the file (never through this process's memory). */
async function render(optsJson: string, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const out = await open(tmp, 'w');
  try {
    const script = 'process.stdout.write(require(process.argv[1]).renderGraphiQL(JSON.parse(process.argv[2])))';
    const child = spawn(process.execPath, ['-e', script, RENDERER, optsJson], { stdio: ['ignore', out.fd, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`rendering GraphiQL failed (exit ${code}): ${stderr}`);
  } finally {
    await out.close();
  }
  // A gzip copy beside it (~9 MB → ~2.5 MB on the wire for browsers that accept it), made once.
  await pipeline(createReadStream(tmp), createGzip({ level: 9 }), createWriteStream(`${tmp}.gz`));
  await rename(`${tmp}.gz`, `${file}.gz`);
  await rename(tmp, file);
}
