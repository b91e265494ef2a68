/**
 * The self-contained TF.js trainer image, as an image tarball (docker-archive) the runner loads through the
 * Docker API and pushes to the platform's own registry. FROM scratch on purpose: no base image can be pulled
 * on these machines, and a tree of exactly the needed files is what the AIBoM can name — node (this host's
 * /usr/bin/node), the shared libraries `ldd` says it loads, the built trainer bundle (trainer/dist),
 * /etc/passwd and /etc/group with nobody 65534, and /tmp. Nothing is bound from the host at run time.
 *
 * Rebuilt only when an input changed: the stamp is a hash of every input file's content and path, kept beside
 * the tarball (`<tarball>.json`).
 *
 *   node --import tsx trainer/image/build-image.ts [--out .tools/images/aibomgen-trainer-tfjs.tar]
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ensureTrainerBundle, trainerEntry } from '../build.ts';
import { type BuiltImageArchive, type ImageRunConfig, type TreeEntry, writeImageArchive } from './image-archive.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const IMAGES_DIR = resolve(here, '..', '..', '.tools', 'images');
/** Bump when the layout below changes (part of the stamp). */
const LAYOUT_VERSION = 'tfjs-scratch-2';
const TRAINER_DIR = '/opt/trainer';

export interface TrainerImageArchive extends BuiltImageArchive {
  path: string;
  /** The RepoTags entry inside the archive (what `docker load` names the image). */
  tag: string;
  /** How the runner starts the trainer; append `--input /input --output /output`. */
  command: string[];
  /** Hash of the inputs the archive was built from. */
  stamp: string;
  rebuilt: boolean;
}

/** Absolute paths of the shared libraries (and the loader) `ldd` reports for `binary`. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  if (libs.length === 0) throw new Error(`ldd ${binary} listed no libraries: ${stdout.trim()}`);
  return libs;
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The image's files: node at /usr/bin/node, its libraries at the paths the loader looks in, the bundle. */
async function trainerTree(distDir: string, files: string[]): Promise<TreeEntry[]> {
  const node = realpathSync(process.execPath);
  const entries: TreeEntry[] = [
    { path: '/usr/bin/node', type: 'file', source: node, mode: 0o755 },
    // The libraries keep the paths ldd printed (the ELF interpreter is /lib64/ld-linux-…; glibc's default
    // search path covers /lib/<triplet>), each a regular copy of the file the host's link points at.
    ...(await sharedLibraries(node)).map(
      (lib): TreeEntry => ({ path: lib, type: 'file', source: realpathSync(lib), mode: 0o755 }),
    ),
    ...files.map((f): TreeEntry => ({ path: `${TRAINER_DIR}/${f}`, type: 'file', source: join(distDir, f) })),
    {
      path: '/etc/passwd',
      type: 'file',
      content: 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    },
    { path: '/etc/group', type: 'file', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: '/tmp', type: 'dir', mode: 0o1777 },
    // Mount points: /input (root-owned: the job cannot write it), /output (the job's user owns it).
    { path: '/input', type: 'dir' },
    { path: '/output', type: 'dir', uid: 65534 },
  ];
  return entries;
}

/**
 * The package.json of every npm package esbuild put into trainer.mjs, at /opt/trainer/node_modules/<name>/:
 * the bundle is one file, and these records are how the image says (in the place SBOM readers look) which
 * packages, in which versions, it carries. Nothing resolves modules from there at run time.
 */
async function bundledPackageRecords(): Promise<TreeEntry[]> {
  const r = await build({
    entryPoints: [trainerEntry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: resolve(here, '..', '..'),
  });
  const roots = new Map<string, string>();
  for (const input of Object.keys(r.metafile.inputs)) {
    const m = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (m?.[1] && m[2] && !roots.has(m[2])) roots.set(m[2], resolve(here, '..', '..', m[1], 'package.json'));
  }
  return [...roots]
    .filter(([, pkg]) => existsSync(pkg))
    .map(
      ([name, pkg]): TreeEntry => ({
        path: `${TRAINER_DIR}/node_modules/${name}/package.json`,
        type: 'file',
        source: pkg,
      }),
    );
}

const RUN_CONFIG: ImageRunConfig = {
  User: '65534:65534',
  Env: ['PATH=/usr/bin:/bin', 'HOME=/tmp', 'NODE_ENV=production'],
  WorkingDir: '/tmp',
  Cmd: ['/usr/bin/node', `${TRAINER_DIR}/trainer.mjs`],
  Labels: { 'org.opencontainers.image.title': 'aibomgen-trainer-tfjs' },
};

/** Stamp of the inputs: layout version, run config, and every file's image path, mode and content hash. */
async function stampOf(entries: TreeEntry[]): Promise<string> {
  const h = createHash('sha256').update(LAYOUT_VERSION).update(JSON.stringify(RUN_CONFIG));
  for (const e of entries) {
    h.update(`\n${e.path} ${e.type} ${'mode' in e ? (e.mode ?? '') : ''} ${'uid' in e ? (e.uid ?? '') : ''} `);
    if (e.type === 'file') h.update('source' in e ? await sha256Of(e.source) : e.content);
    if (e.type === 'symlink') h.update(e.target);
  }
  return h.digest('hex');
}

/** Builds (or keeps) the TF.js trainer image tarball; `out` defaults to .tools/images/aibomgen-trainer-tfjs.tar. */
export async function ensureTfjsTrainerImage(
  out = join(IMAGES_DIR, 'aibomgen-trainer-tfjs.tar'),
): Promise<TrainerImageArchive> {
  const bundle = await ensureTrainerBundle();
  const files = bundle.files.map((f) => f.name).filter((n) => n !== 'probe.mjs');
  if (!files.includes('trainer.mjs')) throw new Error('the trainer bundle has no trainer.mjs (npm run build:trainer)');
  const entries = await trainerTree(bundle.outDir, files);
  const stamp = await stampOf(entries);
  const tag = `localhost/aibomgen-trainer-tfjs:${stamp.slice(0, 12)}`;
  const command = RUN_CONFIG.Cmd ?? [];
  const meta = `${out}.json`;
  if (existsSync(out) && existsSync(meta)) {
    const have = await readFile(meta, 'utf8').then(
      (t) => JSON.parse(t) as Omit<TrainerImageArchive, 'rebuilt'>,
      () => undefined,
    );
    if (have?.stamp === stamp) return { ...have, path: out, rebuilt: false };
  }
  const built = await writeImageArchive([...entries, ...(await bundledPackageRecords())], RUN_CONFIG, tag, out);
  const result: Omit<TrainerImageArchive, 'rebuilt'> = { ...built, path: out, tag, command, stamp };
  // Written after the archive, atomically: a reader that finds this stamp finds the archive it describes.
  const tmpMeta = `${meta}.${process.pid}.tmp`;
  await writeFile(tmpMeta, JSON.stringify(result, null, 2));
  await rename(tmpMeta, meta);
  return { ...result, rebuilt: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const r = await ensureTfjsTrainerImage(i > 0 ? resolve(process.argv[i + 1] ?? '') : undefined);
  console.log(JSON.stringify(r, null, 2));
}
