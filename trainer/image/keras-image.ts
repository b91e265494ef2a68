/**
 * The Keras trainer's image tarball (trainer/image/build-keras.sh: Debian bookworm + python3 + pinned wheels +
 * trainer/keras_trainer, built offline with mmdebstrap; ≈750 MB; the first build takes minutes, later calls only
 * compare a stamp of its inputs). Built on first use by a job with `framework: keras`, not by set-up.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const script = join(dirname(fileURLToPath(import.meta.url)), 'build-keras.sh');

/** The tarball's path and the trainer's argv in it (the runner appends `--input /input --output /output`). */
export async function ensureKerasTrainerImage(): Promise<{ path: string; command: string[] }> {
  const { stdout } = await promisify(execFile)('bash', [script], { maxBuffer: 1 << 20, timeout: 30 * 60_000 });
  const path = stdout.trim().split('\n').pop() ?? '';
  if (!path.endsWith('.tar')) throw new Error(`build-keras.sh printed no tarball path: ${stdout.slice(-300)}`);
  return { path, command: ['python3', '-m', 'keras_trainer'] };
}

/** Whether the tarball for the current trainer sources is already built (never builds; a stamp check, ≈20 ms). */
export async function kerasTrainerImagePresent(): Promise<boolean> {
  try {
    await promisify(execFile)('bash', [script, '--present'], { maxBuffer: 1 << 20, timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}
