/**
 * The fallback runner where no container engine exists: the trainer as a child process with a scrubbed
 * environment and its own working directory, under the same timeout/cancel/output contract. It is NOT
 * isolated (no network, filesystem or privilege separation): RunnerInfo says so and the AIBoM repeats it.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunnerInfo } from '../../contracts.ts';
import { lineTee } from './lines.ts';
import type { RunResult, RunSpec, Runner } from './port.ts';

export class ProcessRunner implements Runner {
  readonly kind = 'process' as const;
  private readonly live = new Map<string, number>();

  /** `trainerEntry` resolves the built trainer (trainer/dist/trainer.mjs), building it on first use. */
  constructor(private readonly trainerEntry: () => Promise<string>) {}

  async run(spec: RunSpec): Promise<RunResult> {
    const entry = await this.trainerEntry();
    const command = [process.execPath, entry, '--input', spec.inputDir, '--output', spec.outputDir];
    const runner: RunnerInfo = {
      kind: 'process',
      isolated: false,
      runtime: `node ${process.version} child process (not container-isolated)`,
      command,
    };
    if (spec.image) {
      // An image names a whole filesystem; without an engine there is nothing honest to run it with.
      return { exitCode: 125, timedOut: false, cancelled: false, runner: { ...runner, image: spec.image } };
    }
    const work = join(dirname(spec.outputDir), 'work');
    await mkdir(work, { recursive: true });
    const out = lineTee(spec.stdoutPath, spec.logBytes, spec.onStdoutLine);
    const err = lineTee(spec.stderrPath, spec.logBytes);
    const child = spawn(command[0]!, command.slice(1), {
      cwd: work,
      // Scrubbed: nothing of the server's environment (tokens, DB URLs, key paths) reaches the trainer.
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: work,
        TMPDIR: work,
        LANG: 'C.UTF-8',
        NODE_ENV: 'production',
        NODE_OPTIONS: `--max-old-space-size=${Math.max(256, Math.floor(spec.memoryBytes / 1024 / 1024))}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: kill() reaches anything it spawned
    });
    child.stdout.pipe(out.stream);
    child.stderr.pipe(err.stream);
    this.live.set(spec.jobId, child.pid ?? -1);
    // A server killed with -9 cannot take its children along: the pid file lets the next start kill them.
    const pidFile = join(dirname(spec.outputDir), 'runner.pid');
    if (child.pid) await writeFile(pidFile, String(child.pid));
    let timedOut = false;
    let cancelled = false;
    const kill = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, spec.timeoutMs);
    const onAbort = (): void => {
      cancelled = true;
      kill();
    };
    spec.signal.addEventListener('abort', onAbort, { once: true });
    if (spec.signal.aborted) onAbort();
    const exitCode = await new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, sig) => resolve(code ?? (sig ? 128 + 9 : 1)));
    });
    clearTimeout(timer);
    spec.signal.removeEventListener('abort', onAbort);
    this.live.delete(spec.jobId);
    await rm(pidFile, { force: true });
    await Promise.all([out.done, err.done]);
    return { exitCode, timedOut, cancelled, runner };
  }

  async cleanup(jobs: { jobId: string; jobDir: string }[]): Promise<void> {
    for (const { jobDir } of jobs) {
      const pidFile = join(jobDir, 'runner.pid');
      const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
      if (pid > 1) {
        // Only a process still running our trainer on this job's dirs (pids get reused).
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes(jobDir)) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      await rm(pidFile, { force: true });
    }
  }

  async close(): Promise<void> {
    for (const pid of this.live.values()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
