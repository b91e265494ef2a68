/**
 * One claimed job from `running` to a terminal state: its inputs (pulled from the registry when another node
 * took the job), the run through the Runner port with the output watched, the outcome judged (exit code,
 * timeout, cancel, output over the limit), then the publisher hand-off. The states `attesting` and `publishing`
 * are recorded when the publisher reports them (its `onStep`), so they cover exactly the attestation and the
 * pushes. Job-level failures become `failed` with a reason; nothing here throws for them.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { trainerFramework } from '../../schema/jobs.ts';
import { progressLineSchema } from '../../schema/trainer.ts';
import { specialEntries } from '../attest/hash.ts';
import { readJsonObject, readTail } from '../bounded-read.ts';
import type { JobOutcome, JobState, Publisher, RunnerInfo } from '../contracts.ts';
import type { EventBus } from '../events.ts';
import type { OciTarget } from '../oci/target.ts';
import type { JobJournal } from './event-log.ts';
import { changedInputs, dropJobInputs, pullJobInputs } from './input-transfer.ts';
import { guardOutput, outputBytes } from './output-guard.ts';
import { jobDir, localPath } from './paths.ts';
import type { ClaimedJob, JobQueue } from './queue.ts';
import type { RunResult, Runner } from './runners/port.ts';
import { canMove } from './state-machine.ts';
import type { JobTransitions } from './transitions.ts';

/** metrics.json and error.json are written by the job: read at most this much of them (bigger: ignored). */
const MAX_TRAINER_JSON = 256 * 1024;
/** Stdout lines of one job stored as `log` events (each a database row); progress lines are not counted. */
const MAX_LOG_EVENTS = 10_000;

export interface RunLimits {
  timeoutMs: number;
  memoryBytes: number;
  logBytes: number;
  /** Most bytes a job may write to its output directory. */
  outputBytes: number;
  cpus: number;
  pids: number;
}

export interface ExecutorDeps {
  dataDir: string;
  queue: JobQueue;
  journal: JobJournal;
  transitions: JobTransitions;
  runner: Runner;
  publisher: Publisher;
  /** The registry as the platform: a job's inputs when another node took it (input-transfer.ts). */
  registry: OciTarget;
  events: EventBus;
  log: Logger;
  limits: RunLimits;
  /** AIBOMGEN_JOB_INPUTS=registry: this node pushes the inputs of the jobs it takes, so it drops them too. */
  pushInputs: boolean;
  /** This worker's id, named in the evidence of the runs it completes. */
  workerId: string;
}

export class Executor {
  constructor(private readonly d: ExecutorDeps) {}

  /** Runs the job to a terminal state, then drops its inputs artifact from the registry when there is one. */
  async execute(job: ClaimedJob, startedAt: string, signal: AbortSignal): Promise<void> {
    let pulled = false;
    try {
      pulled = await this.run(job, startedAt, signal);
    } finally {
      // The inputs artifact is not needed once the job ended (the publisher pushed what it keeps). It exists
      // when this node pulled it, or pushed it itself (AIBOMGEN_JOB_INPUTS=registry on a node that runs jobs).
      if (pulled || this.d.pushInputs) {
        await dropJobInputs(this.d.registry, job.id).catch((err: unknown) =>
          this.d.log.warn({ err, job: job.id }, 'jobs: could not delete the job inputs artifact'),
        );
      }
    }
  }

  /** The job's life after its claim; resolves whether its inputs were pulled from the registry. */
  private async run(job: ClaimedJob, startedAt: string, signal: AbortSignal): Promise<boolean> {
    const { id, spec } = job;
    const { limits, transitions } = this.d;
    const dir = jobDir(this.d.dataDir, id);
    const fail = (reason: string): Promise<void> => transitions.finish(id, 'running', 'failed', reason);
    // Inputs written on another host (AIBOMGEN_JOB_INPUTS=registry there) come from the registry; their
    // recorded paths are the API node's, so each is found at the same place under this node's job dir.
    let pulled = false;
    if (!existsSync(join(dir, 'input'))) {
      try {
        await pullJobInputs(this.d.registry, dir, id);
        pulled = true;
      } catch (err) {
        await fail(`inputs unavailable: ${(err as Error).message}`);
        return false;
      }
    }
    const inputs = (await this.d.queue.inputs(id)).map((f) => ({ ...f, path: localPath(f.path, id, dir) }));
    // What came through the registry must be what was submitted: the digests recorded at submission decide.
    if (pulled) {
      const changed = await changedInputs(inputs);
      if (changed) {
        await fail(`inputs do not match what was submitted: ${changed}`);
        return false;
      }
    }
    const outputDir = join(dir, 'output');
    await rm(outputDir, { recursive: true, force: true });
    await mkdir(outputDir, { recursive: true });
    const stdoutPath = join(dir, 'stdout.log');
    const stderrPath = join(dir, 'stderr.log');

    // While the trainer runs (in its own process), the publisher's one-time set-up is done here, off its clock.
    this.d.publisher
      .prepare?.()
      .catch((err: unknown) => this.d.log.warn({ err }, 'publisher: prepare failed (publish will retry)'));
    // /output is a plain directory: its size is watched, and a job writing past the limit is stopped.
    const overLimit = new AbortController();
    let outputOver = 0;
    const guard = guardOutput(outputDir, limits.outputBytes, (n) => {
      outputOver = n;
      overLimit.abort();
    });
    let result: RunResult;
    const note = (line: string): void => {
      this.d.log.info({ job: id }, `jobs: ${line}`);
      // Not awaited (the runner calls it synchronously); a refused write (a lost lease) is only logged.
      this.d.journal
        .emit(id, { type: 'log', line: `[aibomgen] ${line}` })
        .catch((err: unknown) => this.d.log.warn({ err, job: id }, 'jobs: a note was not recorded'));
    };
    const runOnce = (noAutoTrainer: boolean) =>
      this.d.runner.run({
        jobId: id,
        inputDir: join(dir, 'input'),
        outputDir,
        stdoutPath,
        stderrPath,
        timeoutMs: limits.timeoutMs,
        memoryBytes: limits.memoryBytes,
        logBytes: limits.logBytes,
        cpus: limits.cpus,
        pids: limits.pids,
        gpu: spec.gpu ?? false,
        outputBytes: limits.outputBytes,
        framework: trainerFramework(spec.framework),
        ...(spec.image ? { image: spec.image } : {}),
        ...(spec.command ? { command: spec.command } : {}),
        onStdoutLine: this.progress(id),
        onNote: note,
        ...(noAutoTrainer ? { trainerAuto: 'off' as const } : {}),
        signal: AbortSignal.any([signal, overLimit.signal]),
      });
    try {
      result = await runOnce(false);
      // Never fail a job the TF.js trainer would have run: should the automatically chosen Keras trainer still
      // refuse the model while loading it (trainer-choice.ts checks first), the TF.js trainer runs it instead.
      const refused = result.runner.trainerChoice === 'auto' && result.exitCode !== 0 && !result.cancelled;
      const rec = refused ? await readJsonObject(join(outputDir, 'error.json'), MAX_TRAINER_JSON) : undefined;
      if (!result.timedOut && (rec?.code === 'bad_model' || rec?.code === 'unsupported_layer')) {
        note(`trainer keras refused the model (${String(rec.message).slice(0, 300)}): running the TF.js trainer`);
        await rm(outputDir, { recursive: true, force: true });
        await mkdir(outputDir, { recursive: true });
        result = await runOnce(true);
      }
      await this.d.queue.setRunner(id, result.runner);
    } catch (err) {
      await fail(`runner error: ${(err as Error).message}`);
      return pulled;
    } finally {
      guard.stop();
    }
    // The docker runner watches and copies /output itself (the output lives in the engine until the job ends).
    if (result.outputOver) outputOver = result.outputOver;
    // Between two checks a job can still write past the limit: measured once more after it ended.
    if (!result.cancelled && !result.timedOut) {
      const n = await outputBytes(outputDir, limits.outputBytes);
      if (n > limits.outputBytes) outputOver = n;
    }
    const discard = () => rm(outputDir, { recursive: true, force: true });
    // /output may hold only regular files and directories: a symbolic link (to a host file, say), a FIFO or a
    // device is never followed or read, and the job fails naming it instead of publishing around it.
    const special =
      result.cancelled || result.timedOut ? [] : [...(result.special ?? []), ...(await specialEntries(outputDir))];
    if (outputOver > 0 && !signal.aborted) {
      await discard();
      await fail(
        `output over the limit: more than ${limits.outputBytes} bytes written to /output (AIBOMGEN_JOB_OUTPUT_BYTES)`,
      );
    } else if (result.cancelled) {
      await discard();
      await transitions.finish(id, 'running', 'cancelled', 'cancelled by request');
    } else if (result.timedOut) {
      await discard();
      await fail(`timed out after ${Math.round(limits.timeoutMs / 1000)} s`);
    } else if (special.length > 0) {
      await fail(
        `output holds ${special.slice(0, 5).join(', ')}${special.length > 5 ? ', …' : ''}: only regular files and directories are read from /output (links are not followed)`,
      );
    } else {
      // What the trainer reported, kept with the job (a failed run's partial metrics too).
      const metrics = await readJsonObject(join(outputDir, 'metrics.json'), MAX_TRAINER_JSON);
      if (metrics) await this.d.queue.setMetrics(id, metrics);
      if (result.exitCode !== 0) await fail(await failureReason(outputDir, stderrPath, result.exitCode, result.runner));
      else {
        await this.publish({
          jobId: id,
          owner: job.owner,
          worker: this.d.workerId,
          framework: spec.framework,
          params: spec.params,
          metadata: spec.metadata,
          inputs,
          outputDir,
          stdoutPath,
          stderrPath,
          exitCode: result.exitCode,
          runner: { ...result.runner, trainer: spec.image ? 'image' : 'platform' },
          ...(result.inventory ? { imageInventory: result.inventory } : {}),
          ...(result.inputAccess ? { inputAccess: result.inputAccess } : {}),
          queuedAt: job.createdAt,
          startedAt,
          finishedAt: new Date().toISOString(),
        });
      }
    }
    return pulled;
  }

  /**
   * The publisher hand-off. Its `onStep` calls (synchronous) are the only source of `attesting` and
   * `publishing`; the moves are chained so they land in order. Should a publisher skip a report, the state
   * machine's chain is still walked (running → attesting → publishing) before `succeeded`.
   */
  private async publish(outcome: JobOutcome): Promise<void> {
    const id = outcome.jobId;
    let state: JobState = 'running';
    let steps: Promise<void> = Promise.resolve();
    const step = (to: 'attesting' | 'publishing'): void => {
      const path: ('attesting' | 'publishing')[] =
        to === 'publishing' && state === 'running' ? ['attesting', 'publishing'] : [to];
      for (const next of path) {
        if (!canMove(state, next)) {
          this.d.log.warn({ job: id, from: state, to: next }, 'jobs: publisher reported a step out of order (ignored)');
          return;
        }
        const from = state;
        state = next;
        steps = steps.then(() => this.d.transitions.move(id, from, next));
      }
    };
    try {
      const publication = await this.d.publisher.publish(outcome, step);
      if ((state as JobState) !== 'publishing') step('publishing'); // a publisher that did not report
      await steps;
      await this.d.queue.setPublication(id, publication);
      await this.d.transitions.finish(id, state, 'succeeded');
      this.d.events.emit('job.published', { jobId: id, publication });
    } catch (err) {
      await steps.catch(() => undefined);
      await this.d.transitions.finish(id, state, 'failed', `publication failed: ${(err as Error).message}`);
    }
  }

  /** Trainer stdout of one run: JSON progress lines become epoch/batch events; anything else is a log line. */
  private progress(id: string): (line: string) => void {
    let logLines = 0;
    return (line) => {
      if (!line.trim()) return;
      let parsed: ReturnType<typeof progressLineSchema.safeParse> | undefined;
      try {
        parsed = progressLineSchema.safeParse(JSON.parse(line));
      } catch {
        parsed = undefined;
      }
      const p = parsed?.success ? parsed.data : undefined;
      if (p?.type === 'epoch') void this.d.journal.emit(id, { type: 'epoch', epoch: p.epoch, logs: p.logs });
      else if (p?.type === 'batch')
        void this.d.journal.emit(id, { type: 'batch', epoch: p.epoch, batch: p.batch, logs: p.logs });
      else {
        // A chatty job's lines beyond the cap stay in its log file only.
        logLines++;
        if (logLines < MAX_LOG_EVENTS) void this.d.journal.emit(id, { type: 'log', line: line.slice(0, 4096) });
        else if (logLines === MAX_LOG_EVENTS)
          void this.d.journal.emit(id, {
            type: 'log',
            line: `[aibomgen: ${MAX_LOG_EVENTS - 1} log lines sent as events; the rest are in the job's stdout log only]`,
          });
      }
    };
  }
}

/** Why a run that exited non-zero failed: the trainer's error.json, a known exit code, or the stderr tail. */
async function failureReason(outputDir: string, stderrPath: string, code: number, runner: RunnerInfo): Promise<string> {
  const rec = (await readJsonObject(join(outputDir, 'error.json'), MAX_TRAINER_JSON)) as
    | { code?: unknown; message?: unknown }
    | undefined;
  if (typeof rec?.message === 'string')
    return `${typeof rec.code === 'string' ? rec.code : 'error'}: ${rec.message.slice(0, 2000)}`;
  if (code === 137) return 'killed (exit 137): out of memory or a limit was hit';
  if (code === 125 && runner.kind === 'process' && runner.image)
    return 'the process runner cannot run images: configure a container engine (AIBOMGEN_RUNNER=docker)';
  const tail = (await readTail(stderrPath, 16 * 1024)).trim().split('\n').slice(-3).join(' | ');
  return `exited with code ${code}${tail ? `: ${tail.slice(0, 500)}` : ''}`;
}
