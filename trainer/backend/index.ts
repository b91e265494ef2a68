/**
 * Picks and initialises the TensorFlow.js backend for a training run, fastest first:
 * tfjs-node-gpu (only where a GPU is present) → tfjs-node → wasm (+ our Conv2D gradients and MaxPool gradient
 * fix) → pure-JS cpu.
 *
 * The native bindings are optional: they are not dependencies of this repository (their install script
 * downloads libtensorflow, impossible on the build machines) and are installed in the trainer images only.
 * They are loaded with a computed specifier, so neither tsc nor esbuild tries to resolve them; they register
 * into the same engine because tfjs-core keeps its engine and kernel registry on the global object.
 *
 * `AIBOMGEN_TF_BACKEND` (or the `prefer` argument) forces one backend: then a missing backend is an error,
 * never a silent fallback. `auto` (or empty) means no preference.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../tf.ts';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmConvGradients } from './wasm-conv-grads.ts';
import { registerWasmPoolGradients } from './wasm-pool-grads.ts';

// Registered on import (kernel lookup happens per call): a plain tf.setBackend('wasm') also gets them.
registerWasmConvGradients();
registerWasmPoolGradients();

export const backendNames = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

export interface BackendInfo {
  name: BackendName;
  /** Library versions in use (tfjs-core, tfjs-layers, the backend's own, node). */
  versions: Record<string, string>;
  /** Backends tried before this one and why they were skipped (empty when forced or first choice won). */
  skipped: { name: BackendName; reason: string }[];
}

/** The environment variable that forces a backend. */
export const BACKEND_ENV = 'AIBOMGEN_TF_BACKEND';
/** Optional directory holding tfjs-backend-wasm's `.wasm` files (defaults: beside the bundle, then node_modules). */
export const WASM_DIR_ENV = 'AIBOMGEN_TF_WASM_DIR';

const WASM_FILE = 'tfjs-backend-wasm-simd.wasm';

class BackendUnavailable extends Error {}

/** True when an NVIDIA GPU is visible (device node or a working `nvidia-smi`). */
export function gpuPresent(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 && /GPU \d+/.test(r.stdout ?? '');
}

/** Where the wasm binaries are: env override, beside this (bundled) module, else the npm package. */
export function wasmDir(): string {
  const fromEnv = process.env[WASM_DIR_ENV];
  if (fromEnv) return fromEnv;
  const here = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(here, WASM_FILE))) return here;
  const pkgMain = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  return dirname(pkgMain);
}

interface NativeModule {
  version?: unknown;
}

async function importNative(specifier: string): Promise<NativeModule> {
  try {
    return (await import(specifier)) as NativeModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new BackendUnavailable(`${specifier} is not installed`);
    }
    throw new BackendUnavailable(`${specifier} failed to load: ${(err as Error).message}`);
  }
}

function nativeVersions(pkg: string, mod: NativeModule): Record<string, string> {
  const v = mod.version;
  if (typeof v === 'string') return { [pkg]: v };
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  return {};
}

/** What the native backend object exposes (tfjs-node's NodeJSKernelBackend). */
interface NativeBackend {
  binding?: { TF_Version?: string };
  isUsingGpuDevice?: boolean;
}

function libtensorflowVersion(): Record<string, string> {
  const v = (tf.backend() as unknown as NativeBackend).binding?.TF_Version;
  return v ? { libtensorflow: v } : {};
}

interface Activated {
  versions: Record<string, string>;
  /** Set when the backend actually runs elsewhere than its name says (tfjs-node-gpu without a usable GPU). */
  runsAs?: BackendName;
}

async function activate(name: BackendName): Promise<Activated> {
  switch (name) {
    case 'tensorflow-gpu': {
      if (!gpuPresent()) throw new BackendUnavailable('no NVIDIA GPU present (no /dev/nvidia0, nvidia-smi failed)');
      const mod = await importNative('@tensorflow/tfjs-node-gpu');
      await setOrFail('tensorflow');
      const versions = { ...nativeVersions('tfjs-node-gpu', mod), ...libtensorflowVersion() };
      // TensorFlow silently computes on the CPU when CUDA/cuDNN cannot be loaded: say so instead of "gpu".
      const onGpu = (tf.backend() as unknown as NativeBackend).isUsingGpuDevice !== false;
      return onGpu ? { versions } : { versions, runsAs: 'tensorflow' };
    }
    case 'tensorflow': {
      const mod = await importNative('@tensorflow/tfjs-node');
      await setOrFail('tensorflow');
      return { versions: { ...nativeVersions('tfjs-node', mod), ...libtensorflowVersion() } };
    }
    case 'wasm': {
      const dir = wasmDir();
      if (!existsSync(join(dir, WASM_FILE))) throw new BackendUnavailable(`${WASM_FILE} not found in ${dir}`);
      try {
        setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
      } catch (err) {
        throw new BackendUnavailable(`wasm: ${(err as Error).message}`);
      }
      await setOrFail('wasm');
      return { versions: { 'tfjs-backend-wasm': version_wasm } };
    }
    case 'cpu':
      await setOrFail('cpu');
      return { versions: { 'tfjs-backend-cpu': version_cpu } };
  }
}

async function setOrFail(tfName: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (err) {
    throw new BackendUnavailable(`tf.setBackend('${tfName}') failed: ${(err as Error).message}`);
  }
  if (!ok || tf.getBackend() !== tfName) throw new BackendUnavailable(`tf.setBackend('${tfName}') failed`);
  await tf.ready();
}

function parseBackend(value: string, source: string): BackendName {
  const v = value.trim().toLowerCase();
  if ((backendNames as readonly string[]).includes(v)) return v as BackendName;
  throw new Error(`${source}: unknown TensorFlow.js backend '${value}' (expected one of ${backendNames.join(', ')})`);
}

let current: Promise<BackendInfo> | undefined;

/**
 * Initialises the backend once per process (later calls return the first result). `prefer`, else
 * `AIBOMGEN_TF_BACKEND`, forces one backend; otherwise the first that works wins.
 */
export function initBackend(prefer?: string): Promise<BackendInfo> {
  current ??= choose(prefer);
  return current;
}

async function choose(prefer?: string): Promise<BackendInfo> {
  const forcedRaw = (prefer ?? process.env[BACKEND_ENV] ?? '').trim();
  // '' and 'auto' mean: no preference (lets a caller pass the variable through unconditionally)
  const forced =
    forcedRaw && forcedRaw.toLowerCase() !== 'auto'
      ? parseBackend(forcedRaw, prefer ? 'initBackend' : BACKEND_ENV)
      : undefined;
  const candidates: readonly BackendName[] = forced ? [forced] : backendNames;
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      const own = await activate(name);
      const versions: Record<string, string> = {
        'tfjs-core': tf.version_core,
        'tfjs-layers': tf.version_layers,
        node: process.versions.node,
        ...own.versions,
      };
      if (own.runsAs) {
        const reason = `loaded, but TensorFlow found no usable GPU device: running as '${own.runsAs}'`;
        if (forced) throw new BackendUnavailable(reason);
        skipped.push({ name, reason });
      }
      return { name: own.runsAs ?? name, versions, skipped };
    } catch (err) {
      if (forced) throw new Error(`TensorFlow.js backend '${name}' (forced) is unavailable: ${(err as Error).message}`);
      if (!(err instanceof BackendUnavailable)) throw err;
      skipped.push({ name, reason: err.message });
    }
  }
  throw new Error(
    `no TensorFlow.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}
