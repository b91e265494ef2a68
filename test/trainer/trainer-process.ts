/** Test helper: runs the trainer program as a child process on an input dir and collects what it wrote. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressLineSchema, type ProgressLine } from '../../schema/trainer.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;

export interface TrainerRun {
  code: number | null;
  lines: ProgressLine[];
  stderr: string;
  outputDir: string;
  outputFiles: string[];
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `h3-${prefix}-`));
}

/** Runs `tsx trainer/main.ts`; every stdout line must be a valid progress line (asserted by the parse). */
export async function runTrainer(inputDir: string, env: Record<string, string> = {}): Promise<TrainerRun> {
  const outputDir = await tempDir('out');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'trainer/main.ts'), '--input', inputDir, '--output', outputDir],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => progressLineSchema.parse(JSON.parse(l)));
  const outputFiles = existsSync(outputDir) ? (await readdir(outputDir, { recursive: true })).map(String).sort() : [];
  return { code, lines, stderr, outputDir, outputFiles };
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

export function lastEpochLogs(run: TrainerRun): Record<string, number> {
  const epochs = run.lines.filter((l) => l.type === 'epoch');
  const last = epochs[epochs.length - 1];
  if (last?.type !== 'epoch') throw new Error(`no epoch lines; stderr:\n${run.stderr}`);
  return last.logs;
}
