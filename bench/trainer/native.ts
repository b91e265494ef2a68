/**
 * Runs bench/trainer/run.ts with the native tfjs-node backend included: builds tfjs-node from the PyPI
 * TensorFlow wheel (trainer/image/build-tfjs-node.sh, opt-in, ~1.1 GB, cached in .tools/tfjs-node), bundles
 * the bench beside that node_modules (where the bundle's import of @tensorflow/tfjs-node resolves, as in the
 * trainer images) and runs it. Arguments are passed through, e.g. `--seconds 6 --backends tensorflow,wasm`.
 *
 *   npx tsx bench/trainer/native.ts [--seconds N] [--backends cpu,wasm,tensorflow]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, copyWasmBinaries } from '../../trainer/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modules = execFileSync(join(root, 'trainer/image/build-tfjs-node.sh'), {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const outDir = join(dirname(modules), 'bench');
mkdirSync(outDir, { recursive: true });
await bundle(join(root, 'bench/trainer/run.ts'), join(outDir, 'run.mjs'));
await copyWasmBinaries(outDir);
const r = spawnSync(process.execPath, [join(outDir, 'run.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
