/**
 * `npm start` runs the server from one ESM bundle built here (`npm run build:server`; npm runs it first as
 * `prestart`, ~1 s): dist/server/main.mjs, with every npm package left external (loaded from node_modules).
 *
 * Why not `node --import tsx server/main.ts` as before: tsx transpiles in a loader thread with its own V8
 * isolate, which stays resident — ~33 MB of the server's RSS at rest (node 39 MB, with tsx 72 MB), and
 * the budget for a server moving 1 GiB is 200 MB. The CLI, the tests and the worker still run the
 * sources through tsx.
 *
 * Modules find files next to their sources through `import.meta.url` (the dashboard's static files, the
 * GraphQL SDL, the trainer's sources): in one bundle that would be the bundle's own URL, so each module's
 * `import.meta.url` is pinned to its source file, written relative to the bundle (the tree can move).
 * The bundle is not minified and names each module in a comment; main.mjs.map maps it back to the sources
 * (`node --enable-source-maps dist/server/main.mjs`; not on by default: it holds ~11 MB resident).
 *
 *   node --import tsx server/build.ts [--out dist/server/main.mjs]
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const serverBundle = join(root, 'dist', 'server', 'main.mjs');

export async function buildServer(outfile = serverBundle): Promise<void> {
  const outDir = dirname(outfile);
  await build({
    entryPoints: [join(root, 'server', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    // The bundle's own URL, taken before `define` below rewrites every other `import.meta.url`.
    banner: { js: 'const __bundleUrl = import.meta.url;' },
    define: { 'import.meta.url': '__moduleUrl' },
    plugins: [
      {
        name: 'pin-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8');
            const rel = relative(outDir, args.path).split('\\').join('/');
            // esbuild renames this per module (__moduleUrl2, ...), and `define` binds each use to its own.
            return {
              loader: 'ts',
              contents: `const __moduleUrl = new URL(${JSON.stringify(rel)}, __bundleUrl).href;\n${source}`,
            };
          });
        },
      },
    ],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  await buildServer(i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]!) : serverBundle);
}
