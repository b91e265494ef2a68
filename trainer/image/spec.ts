/**
 * A development image, no longer what jobs run: the skeleton of trainer/image/build-offline.sh with the host's
 * node installation and trainer/dist bound read-only — quick for trying a bundle (or the opt-in native
 * tfjs-node build) under podman without building an image. The platform's jobs run the self-contained image
 * of trainer/image/build-image.ts instead (by digest, nothing bound from the host: server/jobs/runners/).
 */
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));

/** Default image tag; `AIBOMGEN_TRAINER_IMAGE` overrides it (also read by build-offline.sh). */
export const TRAINER_IMAGE_ENV = 'AIBOMGEN_TRAINER_IMAGE';
/** Directory holding the built trainer; `AIBOMGEN_TRAINER_DIST` overrides trainer/dist. */
export const TRAINER_DIST_ENV = 'AIBOMGEN_TRAINER_DIST';
/** Where the built trainer appears inside the container. */
export const TRAINER_MOUNT = '/opt/trainer';
/**
 * Optional node_modules holding a built @tensorflow/tfjs-node (trainer/image/build-tfjs-node.sh); bound at
 * /opt/node_modules, where the bundle's import of the native backend resolves. Opt-in: tfjs-node trains CNNs
 * faster than wasm here (≈1.8k vs ≈1.1k samples/s) but small MLPs ≈4× slower.
 */
export const TFJS_NODE_MODULES_ENV = 'AIBOMGEN_TFJS_NODE_MODULES';
export const NATIVE_MODULES_MOUNT = '/opt/node_modules';

export interface TrainerImageSpec {
  /** Image reference, e.g. `aibomgen-trainer:local`. */
  image: string;
  /** Docker-style binds (`host:container:ro`), all read-only: node's installation and the trainer bundle. */
  binds: string[];
  /** argv of the trainer inside the container; append the trainer's own arguments. */
  command: string[];
  /** The unprivileged user the image is meant to run as. */
  user: string;
  /** Host directory that is bound at /opt/trainer. */
  distDir: string;
}

export interface SpecOptions {
  image?: string;
  distDir?: string;
  /** Entry file inside the bundle directory (default trainer.mjs; probe.mjs for a backend check). */
  entry?: string;
  /** node_modules with a built tfjs-node to bind read-only (default: AIBOMGEN_TFJS_NODE_MODULES, else none). */
  nativeModules?: string;
}

/**
 * The run spec for the current host. node is bound from where it really lives: /usr (Debian's nodejs) or,
 * for a node outside /usr (e.g. ~/.nvm), its install prefix at the same path as well.
 */
export function trainerImageSpec(opts: SpecOptions = {}): TrainerImageSpec {
  const image = opts.image ?? process.env[TRAINER_IMAGE_ENV] ?? 'aibomgen-trainer:local';
  const distDir = resolve(opts.distDir ?? process.env[TRAINER_DIST_ENV] ?? join(here, '..', 'dist'));
  const node = realpathSync(process.execPath);
  const binds = ['/usr:/usr:ro'];
  if (!node.startsWith('/usr/')) {
    const prefix = dirname(dirname(node)); // <prefix>/bin/node, e.g. ~/.nvm/versions/node/v20.x
    binds.push(`${prefix}:${prefix}:ro`);
  }
  binds.push(`${distDir}:${TRAINER_MOUNT}:ro`);
  const native = opts.nativeModules ?? process.env[TFJS_NODE_MODULES_ENV];
  if (native) binds.push(`${resolve(native)}:${NATIVE_MODULES_MOUNT}:ro`);
  return {
    image,
    binds,
    command: [node, `${TRAINER_MOUNT}/${opts.entry ?? 'trainer.mjs'}`],
    user: '65534:65534',
    distDir,
  };
}

/** Builds the image if it is missing (idempotent, ~0.2 s) and returns its id. Needs the podman CLI. */
export async function ensureTrainerImage(image?: string): Promise<string> {
  const args = image ? ['--tag', image] : [];
  const { stdout } = await promisify(execFile)(join(here, 'build-offline.sh'), args, { encoding: 'utf8' });
  const id = stdout.trim().split('\n').at(-1) ?? '';
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`build-offline.sh printed no image id: ${stdout.trim()}`);
  return id;
}
