/**
 * `npm run build:trainer`: bundles the trainer into `trainer/dist/` — a directory that runs with nothing but
 * `node` (≥ 20), so it can be bind-mounted read-only into a bare container:
 *
 *   trainer.mjs                      the trainer (entry trainer/main.ts), ESM, all JS dependencies inlined
 *   probe.mjs                        backend probe (trainer/backend/probe.ts): one JSON line, no inputs
 *   tfjs-backend-wasm*.wasm          the wasm backend's binaries (found beside the bundle at run time)
 *   manifest.json                    sha256 and size of every file above, tool versions, and the source files
 *                                    the bundles were built from (ensureTrainerBundle rebuilds when one changes)
 *
 * The native backends (@tensorflow/tfjs-node, -gpu) stay external: they are loaded with a computed
 * specifier only where an image installed them. h5wasm's Node build embeds its wasm, so it bundles as is.
 *
 * Usage: tsx trainer/build.ts [--out <dir>]. Fails (exit 1, after building the probe) when trainer/main.ts
 * does not exist.
 */
import { build, version as esbuildVersion } from 'esbuild';
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
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
  /** Source files the bundles were built from (repository-relative, outside node_modules). */
  inputs: string[];
}

interface Manifest {
  builtWith: Record<string, string>;
  files: BuiltFile[];
  inputs: string[];
}

const repoRoot = resolve(trainerDir, '..');

/** Bundles one entry; returns the repository files it read (from esbuild's metafile). */
export async function bundle(entry: string, outfile: string): Promise<string[]> {
  const r = await build({
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
    metafile: true,
    absWorkingDir: repoRoot,
  });
  return Object.keys(r.metafile.inputs).filter((p) => !p.includes('node_modules/'));
}

export async function copyWasmBinaries(outDir: string): Promise<void> {
  const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  const names = (await readdir(wasmDist)).filter((n) => n.endsWith('.wasm'));
  if (!names.includes('tfjs-backend-wasm-simd.wasm')) throw new Error(`no tfjs wasm binaries found in ${wasmDist}`);
  for (const n of names) await copyFile(join(wasmDist, n), join(outDir, n));
}

async function describe(dir: string, name: string): Promise<BuiltFile> {
  const buf = await readFile(join(dir, name));
  return { name, sha256: createHash('sha256').update(buf).digest('hex'), size: (await stat(join(dir, name))).size };
}

/**
 * Builds into `outDir`. The new build is made beside it and swapped in at the end, so a container that has
 * the old directory bound keeps working files until it exits.
 */
export async function buildTrainer(outDir: string = defaultOutDir): Promise<BuildResult> {
  const out = resolve(outDir);
  // Staged under a same-named directory (so an ignore rule for `dist/` covers it) on the same filesystem.
  const stagingParent = join(dirname(out), `.build-${process.pid}-${randomUUID().slice(0, 8)}`);
  const staging = join(stagingParent, basename(out));
  await rm(stagingParent, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const inputs = new Set(await bundle(probeEntry, join(staging, 'probe.mjs')));
    const trainerBuilt = existsSync(trainerEntry);
    if (trainerBuilt) for (const i of await bundle(trainerEntry, join(staging, 'trainer.mjs'))) inputs.add(i);
    inputs.add('package-lock.json'); // dependency versions are inputs too
    await copyWasmBinaries(staging);
    const names = (await readdir(staging)).sort();
    const files = await Promise.all(names.map((n) => describe(staging, n)));
    const tfjsVersion = (
      JSON.parse(
        await readFile(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'), 'utf8'),
      ) as { version: string }
    ).version;
    const manifest: Manifest = {
      builtWith: { esbuild: esbuildVersion, node: process.versions.node, 'tfjs-core': tfjsVersion },
      files,
      inputs: [...inputs].sort(),
    };
    await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await swapIn(staging, out, join(stagingParent, 'old'));
    return { outDir: out, files, trainerBuilt, inputs: manifest.inputs };
  } finally {
    await rm(stagingParent, { recursive: true, force: true });
  }
}

/** Moves `staging` to `out`, moving any existing `out` aside first; retried when a concurrent build raced us. */
async function swapIn(staging: string, out: string, old: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (existsSync(out)) await rename(out, `${old}-${attempt}`);
      await rename(staging, out);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 3 || !['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(code ?? '')) throw err;
    }
  }
}

/** Why the bundle in `outDir` must be rebuilt, or undefined when it is up to date. */
export async function staleReason(outDir: string = defaultOutDir): Promise<string | undefined> {
  const out = resolve(outDir);
  let manifest: Manifest;
  let builtAt: number;
  try {
    manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
    builtAt = (await stat(join(out, 'manifest.json'))).mtimeMs;
  } catch {
    return 'no build yet';
  }
  if (existsSync(trainerEntry) && !manifest.files.some((f) => f.name === 'trainer.mjs'))
    return 'trainer/main.ts appeared since the last build';
  for (const input of manifest.inputs ?? []) {
    const st = await stat(join(repoRoot, input)).catch(() => undefined);
    if (!st) return `${input} was removed`;
    if (st.mtimeMs > builtAt) return `${input} changed`;
  }
  return undefined;
}

/** Builds only when the bundle is missing or older than any file it was built from. */
export async function ensureTrainerBundle(outDir: string = defaultOutDir): Promise<BuildResult & { rebuilt: boolean }> {
  const why = await staleReason(outDir);
  if (why) return { ...(await buildTrainer(outDir)), rebuilt: true };
  const manifest = JSON.parse(await readFile(join(resolve(outDir), 'manifest.json'), 'utf8')) as Manifest;
  return {
    outDir: resolve(outDir),
    files: manifest.files,
    trainerBuilt: manifest.files.some((f) => f.name === 'trainer.mjs'),
    inputs: manifest.inputs,
    rebuilt: false,
  };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const outDir = i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : defaultOutDir;
  const r = await buildTrainer(outDir);
  for (const f of r.files) console.log(`${f.name.padEnd(36)} ${String(f.size).padStart(10)}  sha256:${f.sha256}`);
  if (!r.trainerBuilt) {
    console.error(
      `build:trainer: ${trainerEntry} does not exist yet — built only probe.mjs and the wasm binaries in ${r.outDir}`,
    );
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
