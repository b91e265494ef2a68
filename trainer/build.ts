/**
 * `npm run build:trainer`: bundles the trainer into `trainer/dist/` — a directory that runs with nothing but
 * `node` (≥ 20), so it can be bind-mounted read-only into a bare container:
 *
 *   trainer.mjs                      the trainer (entry trainer/main.ts), ESM, all JS dependencies inlined
 *   probe.mjs                        backend probe (trainer/backend/probe.ts): one JSON line, no inputs
 *   tfjs-backend-wasm*.wasm          the wasm backend's binaries (found beside the bundle at run time)
 *   manifest.json                    sha256 and size of every file above, plus tool versions
 *
 * The native backends (@tensorflow/tfjs-node, -gpu) stay external: they are loaded with a computed
 * specifier only where an image installed them. h5wasm's Node build embeds its wasm, so it bundles as is.
 *
 * Usage: tsx trainer/build.ts [--out <dir>]. Fails (exit 1, after building the probe) when trainer/main.ts
 * does not exist.
 */
import { build, version as esbuildVersion } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const trainerDir = dirname(fileURLToPath(import.meta.url));
export const defaultOutDir = join(trainerDir, 'dist');
export const trainerEntry = join(trainerDir, 'main.ts');
export const probeEntry = join(trainerDir, 'backend', 'probe.ts');

/** CommonJS dependencies (tfjs) inside an ESM bundle still call require/__dirname: give them real ones. */
const banner = [
  "import { createRequire as __aibomgenCreateRequire } from 'node:module';",
  "import { fileURLToPath as __aibomgenFileURLToPath } from 'node:url';",
  "import { dirname as __aibomgenDirname } from 'node:path';",
  'const require = __aibomgenCreateRequire(import.meta.url);',
  'const __filename = __aibomgenFileURLToPath(import.meta.url);',
  'const __dirname = __aibomgenDirname(__filename);',
].join('\n');

export interface BuiltFile {
  name: string;
  sha256: string;
  size: number;
}

export interface BuildResult {
  outDir: string;
  files: BuiltFile[];
  /** False when trainer/main.ts is missing (only the probe was built). */
  trainerBuilt: boolean;
}

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: banner },
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    keepNames: true, // error messages and class names stay readable in job logs
    legalComments: 'none',
    logLevel: 'warning',
  });
}

async function copyWasmBinaries(outDir: string): Promise<void> {
  const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  const names = (await readdir(wasmDist)).filter((n) => n.endsWith('.wasm'));
  if (!names.includes('tfjs-backend-wasm-simd.wasm')) throw new Error(`no tfjs wasm binaries found in ${wasmDist}`);
  for (const n of names) await copyFile(join(wasmDist, n), join(outDir, n));
}

async function describe(dir: string, name: string): Promise<BuiltFile> {
  const buf = await readFile(join(dir, name));
  return { name, sha256: createHash('sha256').update(buf).digest('hex'), size: (await stat(join(dir, name))).size };
}

/** Builds into `outDir` (emptied first). */
export async function buildTrainer(outDir: string = defaultOutDir): Promise<BuildResult> {
  const out = resolve(outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await bundle(probeEntry, join(out, 'probe.mjs'));
  const trainerBuilt = existsSync(trainerEntry);
  if (trainerBuilt) await bundle(trainerEntry, join(out, 'trainer.mjs'));
  await copyWasmBinaries(out);
  const names = (await readdir(out)).filter((n) => n !== 'manifest.json').sort();
  const files = await Promise.all(names.map((n) => describe(out, n)));
  const tfjsVersion = (JSON.parse(await readFile(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'), 'utf8')) as { version: string }).version;
  await writeFile(
    join(out, 'manifest.json'),
    `${JSON.stringify({ builtWith: { esbuild: esbuildVersion, node: process.versions.node, 'tfjs-core': tfjsVersion }, files }, null, 2)}\n`,
  );
  return { outDir: out, files, trainerBuilt };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const outDir = i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : defaultOutDir;
  const r = await buildTrainer(outDir);
  for (const f of r.files) console.log(`${f.name.padEnd(36)} ${String(f.size).padStart(10)}  sha256:${f.sha256}`);
  if (!r.trainerBuilt) {
    console.error(`build:trainer: ${trainerEntry} does not exist yet — built only probe.mjs and the wasm binaries in ${r.outDir}`);
    process.exit(1);
  }
  console.log(`build:trainer: ${r.outDir}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`build:trainer failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
