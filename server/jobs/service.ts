/**
 * The jobs service: a durable queue in the database (the in-process adapter of the queue port), a
 * scheduler with a concurrency limit and FIFO order per owner, the runner hand-off, and the publisher
 * hand-off after a successful run. Every state change and progress line becomes a stored JobEvent first
 * (job_events), then goes out on the event bus — SSE and GraphQL subscriptions replay + follow it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { progressLineSchema } from '../../schema/trainer.ts';
import type { Services } from '../context.ts';
import {
  terminalJobStates,
  type JobEvent,
  type JobInputFile,
  type JobOutcome,
  type JobService,
  type JobState,
  type JobView,
  type Publication,
  type RunnerInfo,
  type SubmitJobInput,
} from '../contracts.ts';
import type { Selectable } from 'kysely';
import type { JobsTable } from '../../schema/db/jobs.ts';
import { JobEventLog, type JobEventBody } from './event-log.ts';
import { HttpError } from '../api-error.ts';
import { readJsonObject, readTail } from '../bounded-read.ts';
import { guardOutput, outputBytes } from './output-guard.ts';
import { dropJobInputs, pullJobInputs, pushJobInputs } from './input-transfer.ts';
import type { OciClient } from '../oci/client.ts';
import type { Runner } from './runners/port.ts';
import { assertMove, interruptedStates } from './state-machine.ts';

/** metrics.json and error.json are written by the job: read at most this much of them (bigger: ignored). */
const MAX_TRAINER_JSON = 256 * 1024;
/** Stdout lines of one job stored as `log` events (each a database row); progress lines are not counted. */
const MAX_LOG_EVENTS = 10_000;

interface Spec {
  framework: string;
  params: Record<string, unknown>;
  metadata: JobView['metadata'];
  image?: string;
  command?: string[];
  gpu?: boolean;
}

export interface JobServiceOptions {
  runner: Runner;
  concurrency: number;
  timeoutMs: number;
  memoryBytes: number;
  logBytes: number;
  /** Most bytes a job may write to its output directory. */
  outputBytes: number;
  cpus: number;
  pids: number;
  requeueInterrupted: boolean;
  /** `api`: never runs jobs (workers do); `worker`/`all`: claims and runs them. */
  role: 'all' | 'api' | 'worker';
  workerId: string;
  /** The registry (in process) a worker pulls inputs from when its data dir lacks them (input-transfer.ts). */
  inputsVia?: OciClient;
  /** AIBOMGEN_JOB_INPUTS=registry: push each job's inputs there when it is submitted. */
  pushInputs?: boolean;
}

/** How often a node looks for work queued by other processes and for cancel requests on its jobs. */
const POLL_MS = 1000;
/** Upload dirs without a job row are a crash's leftovers once this old (a live upload may be in progress). */
const ORPHAN_AGE_MS = 24 * 3600 * 1000;

/** Where a job's files live: `<dataDir>/jobs/<id>/{input,output,uploads,stdout.log,stderr.log}`. */
export function jobDir(dataDir: string, id: string): string {
  return join(dataDir, 'jobs', id);
}

/** Where a recorded input path (absolute, on the node that took the job) is under this node's job dir. */
function localPath(recorded: string, id: string, dir: string): string {
  if (existsSync(recorded)) return recorded;
  const at = recorded.lastIndexOf(`${sep}${id}${sep}`);
  return at < 0 ? recorded : join(dir, recorded.slice(at + id.length + 2));
}

const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;
export const isJobId = (id: string): boolean => JOB_ID.test(id);

export class Jobs implements JobService {
  private readonly log: JobEventLog;
  private readonly running = new Map<string, { owner: string; abort: AbortController; done: Promise<void> }>();
  /** Per-job append chain: seq numbers are assigned one at a time per job. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Log-line events stored per running job: a chatty job's lines beyond the cap stay in its log file only. */
  private readonly logLines = new Map<string, number>();
  /** Jobs whose inputs this node pulled from the registry: their inputs artifact is deleted when they end. */
  private readonly pulledInputs = new Set<string>();
  private pumping = false;
  private poller?: NodeJS.Timeout;
  private repump = false;
  private closed = false;

  constructor(private readonly s: Services, readonly o: JobServiceOptions) {
    this.log = new JobEventLog(s.db, s.events);
  }

  get runnerKind(): Runner['kind'] {
    return this.o.runner.kind;
  }

  dir(id: string): string {
    return jobDir(this.s.config.dataDir, id);
  }

  // ---- lifecycle ----

  /** Recovery after a crash, then the first scheduling round. */
  async start(): Promise<void> {
    const root = join(this.s.config.dataDir, 'jobs');
    await mkdir(root, { recursive: true, mode: 0o700 });
    if (this.o.role === 'api') return; // workers recover and run jobs
    // Only this worker's jobs: others sharing the database may be running theirs right now.
    const left = await this.s.db
      .selectFrom('jobs')
      .select(['id', 'state'])
      .where('state', 'in', [...interruptedStates])
      .where((eb) => eb.or([eb('worker', '=', this.o.workerId), eb('worker', 'is', null)]))
      .execute();
    if (left.length) {
      await this.o.runner.cleanup(left.map((j) => ({ jobId: j.id, jobDir: this.dir(j.id) })));
      for (const j of left) {
        // Nothing half-made stays listed: the output dir of a cut-off run is discarded either way.
        await rm(join(this.dir(j.id), 'output'), { recursive: true, force: true });
        if (this.o.requeueInterrupted) {
          await this.s.db.updateTable('jobs').set({ state: 'queued', reason: null, started_at: null, runner_json: null }).where('id', '=', j.id).execute();
          await this.emit(j.id, { type: 'state', state: 'queued', reason: 're-queued after an interrupted run' });
        } else {
          await this.finish(j.id, j.state as JobState, 'failed', 'interrupted');
        }
      }
      this.s.log.warn({ jobs: left.map((j) => j.id), requeue: this.o.requeueInterrupted }, 'jobs: recovered jobs cut off by a restart');
    }
    // Upload dirs of requests that never became jobs (a crash mid-upload), once surely not a live upload.
    const known = new Set((await this.s.db.selectFrom('jobs').select('id').execute()).map((r) => r.id));
    for (const name of await readdir(root)) {
      if (known.has(name)) continue;
      const st = await stat(join(root, name)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > ORPHAN_AGE_MS) await rm(join(root, name), { recursive: true, force: true });
    }
    this.pump();
    // Work queued by other processes (an API node, the CLI) and cancel requests reach this node by polling.
    this.poller = setInterval(() => {
      this.pump();
      void this.checkCancelRequests();
    }, POLL_MS); // ref'd on purpose: it is what keeps a worker process (no HTTP server) alive
  }

  private async checkCancelRequests(): Promise<void> {
    if (!this.running.size) return;
    const rows = await this.s.db.selectFrom('jobs').select('id').where('id', 'in', [...this.running.keys()]).where('cancel_requested', '=', 1).execute().catch(() => []);
    for (const r of rows) this.running.get(r.id)?.abort.abort();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poller);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await Promise.allSettled([...this.chains.values()]);
    await this.o.runner.close();
  }

  // ---- JobService ----

  async submit(input: SubmitJobInput): Promise<JobView> {
    const id = input.id ?? randomUUID();
    const now = new Date().toISOString();
    const spec: Spec = {
      framework: input.framework,
      params: input.params,
      metadata: input.metadata,
      ...(input.image ? { image: input.image } : {}),
      ...(input.command ? { command: input.command } : {}),
      ...(input.gpu ? { gpu: true } : {}),
    };
    // Pushed before the job is queued: a worker on another host may claim it at once.
    if (this.o.pushInputs && this.o.inputsVia) {
      try {
        await pushJobInputs(this.o.inputsVia, this.dir(id), id);
      } catch (e) {
        throw new HttpError(503, 'registry_unavailable', `the job's inputs could not be stored in the registry for the workers: ${(e as Error).message}`);
      }
    }
    await this.s.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('jobs')
        .values({ id, owner: input.owner, kind: input.image ? 'image' : 'model', state: 'queued', reason: null, spec_json: JSON.stringify(spec), publication_json: null, runner_json: null, created_at: now, started_at: null, finished_at: null })
        .execute();
      for (const f of input.files) await tx.insertInto('job_inputs').values({ job_id: id, name: f.name, role: f.role, digest: f.digest, size: f.size, path: f.path }).execute();
    });
    await this.emit(id, { type: 'state', state: 'queued' });
    this.pump();
    return (await this.get(id))!;
  }

  async get(id: string): Promise<JobView | null> {
    if (!isJobId(id)) return null;
    const row = await this.s.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    const inputs = await this.s.db.selectFrom('job_inputs').select(['name', 'role', 'digest', 'size']).where('job_id', '=', id).orderBy('name').execute();
    return this.toView(row, inputs);
  }

  async list(q: { owner?: string; state?: JobState; limit: number; after?: string }): Promise<{ items: JobView[]; next?: string }> {
    // Newest first; the cursor is "<created_at>|<id>" of the last item returned.
    let query = this.s.db.selectFrom('jobs').selectAll();
    if (q.owner) query = query.where('owner', '=', q.owner);
    if (q.state) query = query.where('state', '=', q.state);
    if (q.after) {
      const [at, id] = Buffer.from(q.after, 'base64url').toString('utf8').split('|');
      if (at && id) query = query.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    const ids = page.map((r) => r.id);
    const inputs = ids.length ? await this.s.db.selectFrom('job_inputs').select(['job_id', 'name', 'role', 'digest', 'size']).where('job_id', 'in', ids).orderBy('name').execute() : [];
    const items = page.map((r) => this.toView(r, inputs.filter((i) => i.job_id === r.id)));
    const last = page.at(-1);
    return rows.length > q.limit && last ? { items, next: Buffer.from(`${last.created_at}|${last.id}`).toString('base64url') } : { items };
  }

  async cancel(id: string): Promise<JobView | null> {
    const job = await this.get(id);
    if (!job) return null;
    if (terminalJobStates.includes(job.state)) return job;
    if (job.state === 'queued') {
      const r = await this.s.db.updateTable('jobs').set({ state: 'cancelled', reason: 'cancelled by request', finished_at: new Date().toISOString() }).where('id', '=', id).where('state', '=', 'queued').executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) {
        await this.emit(id, { type: 'state', state: 'cancelled', reason: 'cancelled by request' });
        return this.get(id);
      }
      return this.cancel(id); // it started meanwhile
    }
    if (job.state !== 'running') throw new CancelRefused(`job ${id} is ${job.state}: too late to cancel, its model is being published`);
    const live = this.running.get(id);
    if (live) {
      live.abort.abort();
      await live.done;
      return this.get(id);
    }
    // Another process runs it: ask through the database and wait for that worker to stop it.
    await this.s.db.updateTable('jobs').set({ cancel_requested: 1 }).where('id', '=', id).execute();
    for (let i = 0; i < 150; i++) {
      const now = await this.get(id);
      if (!now || now.state !== 'running') return now;
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.get(id);
  }

  /** The log lines stored as events (at most MAX_LOG_EVENTS): what any node can show of a job another node ran. */
  async storedLogLines(id: string): Promise<string[]> {
    return (await this.log.replay(id)).flatMap((e) => (e.type === 'log' ? [e.line] : []));
  }

  subscribe(id: string, onEvent: (e: JobEvent) => void): () => void {
    let last = 0;
    let replaying = true;
    const buffered: JobEvent[] = [];
    let poll: NodeJS.Timeout | undefined;
    const deliver = (e: JobEvent): void => {
      if (e.seq <= last) return;
      last = e.seq;
      // Nothing follows a terminal state: the table need not be watched any more.
      if (e.type === 'state' && terminalJobStates.includes(e.state)) clearInterval(poll);
      onEvent(e);
    };
    const listener = (e: JobEvent): void => {
      if (e.jobId !== id) return;
      if (replaying) buffered.push(e);
      else deliver(e);
    };
    this.s.events.on('job.event', listener);
    // Events written by another process (a worker) never reach this process's bus: poll the table too,
    // except while this process runs the job (its events come on the bus).
    let polling = false;
    poll = setInterval(() => {
      if (replaying || polling || this.running.has(id)) return;
      polling = true;
      void this.log
        .replay(id, last)
        .then((more) => more.forEach(deliver), () => undefined)
        .finally(() => (polling = false));
    }, POLL_MS);
    void this.log.replay(id).then(
      (past) => {
        for (const e of past) deliver(e);
        replaying = false;
        for (const e of buffered.sort((a, b) => a.seq - b.seq)) deliver(e);
      },
      (err: unknown) => this.s.log.error({ err, job: id }, 'jobs: event replay failed'),
    );
    return () => {
      clearInterval(poll);
      this.s.events.off('job.event', listener);
    };
  }

  // ---- scheduling ----

  /** Starts queued jobs while slots are free: the owner with the fewest running jobs goes first, FIFO within. */
  private pump(): void {
    if (this.closed || this.o.role === 'api') return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.repump = false;
          while (this.running.size < this.o.concurrency && !this.closed) {
            const queued = await this.s.db.selectFrom('jobs').select(['id', 'owner']).where('state', '=', 'queued').orderBy('created_at').orderBy('id').limit(200).execute();
            if (!queued.length) break;
            const load = (owner: string): number => [...this.running.values()].filter((r) => r.owner === owner).length;
            const pick = queued.reduce((best, j) => (load(j.owner) < load(best.owner) ? j : best), queued[0]!);
            // Claimed with a conditional update, so two workers sharing one database never both start it.
            const now = new Date().toISOString();
            const r = await this.s.db.updateTable('jobs').set({ state: 'running', started_at: now, worker: this.o.workerId }).where('id', '=', pick.id).where('state', '=', 'queued').executeTakeFirst();
            if (Number(r.numUpdatedRows) !== 1) continue;
            await this.emit(pick.id, { type: 'state', state: 'running' });
            const abort = new AbortController();
            const entry = { owner: pick.owner, abort, done: Promise.resolve() };
            this.running.set(pick.id, entry);
            entry.done = this.execute(pick.id, now, abort.signal)
              .catch((err: unknown) => this.s.log.error({ err, job: pick.id }, 'jobs: execution crashed'))
              .then(() => this.dropInputs(pick.id))
              .finally(() => {
                this.running.delete(pick.id);
                this.pump();
              });
          }
        } while (this.repump && !this.closed);
      } catch (err) {
        this.s.log.error({ err }, 'jobs: scheduling failed');
      } finally {
        this.pumping = false;
      }
    })();
  }

  /** One job from running to a terminal state. Never throws for job-level failures: they become `failed`. */
  private async execute(id: string, startedAt: string, signal: AbortSignal): Promise<void> {
    const row = await this.s.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const spec = JSON.parse(row.spec_json) as Spec;
    const dir = this.dir(id);
    // Inputs written on another host (AIBOMGEN_JOB_INPUTS=registry there) come from the registry; their
    // recorded paths are the API node's, so each is found at the same place under this node's job dir.
    if (!existsSync(join(dir, 'input'))) {
      try {
        if (!this.o.inputsVia) throw new Error(`no input directory at ${join(dir, 'input')} (a worker on another host needs AIBOMGEN_JOB_INPUTS=registry)`);
        await pullJobInputs(this.o.inputsVia, dir, id);
        this.pulledInputs.add(id);
      } catch (err) {
        return this.finish(id, 'running', 'failed', `inputs unavailable: ${(err as Error).message}`);
      }
    }
    const inputs = (await this.s.db.selectFrom('job_inputs').selectAll().where('job_id', '=', id).execute()).map(
      (i): JobInputFile => ({ role: i.role as JobInputFile['role'], name: i.name, path: localPath(i.path, id, dir), digest: i.digest, size: Number(i.size) }),
    );
    const outputDir = join(dir, 'output');
    await rm(outputDir, { recursive: true, force: true });
    await mkdir(outputDir, { recursive: true });
    const stdoutPath = join(dir, 'stdout.log');
    const stderrPath = join(dir, 'stderr.log');

    // While the trainer runs (in its own process), the publisher's one-time set-up is done here, off its clock.
    this.s.publisher?.prepare?.().catch((err: unknown) => this.s.log.warn({ err }, 'publisher: prepare failed (publish will retry)'));
    // /output is a plain directory: its size is watched, and a job writing past the limit is stopped.
    const overLimit = new AbortController();
    let outputOver = 0;
    const guard = guardOutput(outputDir, this.o.outputBytes, (n) => {
      outputOver = n;
      overLimit.abort();
    });
    let runner: RunnerInfo | undefined;
    let result;
    try {
      result = await this.o.runner.run({
        jobId: id,
        inputDir: join(dir, 'input'),
        outputDir,
        stdoutPath,
        stderrPath,
        timeoutMs: this.o.timeoutMs,
        memoryBytes: this.o.memoryBytes,
        logBytes: this.o.logBytes,
        cpus: this.o.cpus,
        pids: this.o.pids,
        gpu: spec.gpu ?? false,
        ...(spec.image ? { image: spec.image } : {}),
        ...(spec.command ? { command: spec.command } : {}),
        onStdoutLine: (line) => this.progress(id, line),
        signal: AbortSignal.any([signal, overLimit.signal]),
      });
      runner = result.runner;
      await this.s.db.updateTable('jobs').set({ runner_json: JSON.stringify(runner) }).where('id', '=', id).execute();
    } catch (err) {
      await this.finish(id, 'running', 'failed', `runner error: ${(err as Error).message}`);
      return;
    } finally {
      guard.stop();
    }
    // Between two checks a job can still write past the limit: measured once more after it ended.
    if (!result.cancelled && !result.timedOut) {
      const n = await outputBytes(outputDir, this.o.outputBytes);
      if (n > this.o.outputBytes) outputOver = n;
    }
    if (outputOver > 0 && !signal.aborted) {
      await rm(outputDir, { recursive: true, force: true });
      return this.finish(id, 'running', 'failed', `output over the limit: more than ${this.o.outputBytes} bytes written to /output (AIBOMGEN_JOB_OUTPUT_BYTES)`);
    }
    if (result.cancelled) {
      await rm(outputDir, { recursive: true, force: true });
      return this.finish(id, 'running', 'cancelled', 'cancelled by request');
    }
    if (result.timedOut) {
      await rm(outputDir, { recursive: true, force: true });
      return this.finish(id, 'running', 'failed', `timed out after ${Math.round(this.o.timeoutMs / 1000)} s`);
    }
    // What the trainer reported, kept with the job (a failed run's partial metrics too).
    const metrics = await readJsonObject(join(outputDir, 'metrics.json'), MAX_TRAINER_JSON);
    if (metrics) await this.s.db.updateTable('jobs').set({ metrics_json: JSON.stringify(metrics) }).where('id', '=', id).execute();
    if (result.exitCode !== 0) {
      const why = await this.failureReason(outputDir, stderrPath, result.exitCode, runner);
      return this.finish(id, 'running', 'failed', why);
    }
    if (!this.s.publisher) return this.finish(id, 'running', 'failed', 'no publisher is configured: the model cannot be attested');

    const outcome: JobOutcome = {
      jobId: id,
      owner: row.owner,
      framework: spec.framework,
      params: spec.params,
      metadata: spec.metadata,
      inputs,
      outputDir,
      stdoutPath,
      stderrPath,
      exitCode: result.exitCode,
      runner,
      queuedAt: row.created_at,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    // The publisher reports its steps synchronously; the state moves are chained so they land in order.
    let state: JobState = 'running';
    let steps: Promise<void> = Promise.resolve();
    const step = (to: 'attesting' | 'publishing'): void => {
      const from = state;
      if (from === to) return;
      state = to;
      steps = steps.then(() => this.move(id, from, to));
    };
    try {
      step('attesting');
      const publication = await this.s.publisher.publish(outcome, step);
      step('publishing');
      await steps;
      await this.s.db.updateTable('jobs').set({ publication_json: JSON.stringify(publication) }).where('id', '=', id).execute();
      await this.finish(id, state, 'succeeded');
      this.s.events.emit('job.published', { jobId: id, publication });
    } catch (err) {
      await steps.catch(() => undefined);
      await this.finish(id, state, 'failed', `publication failed: ${(err as Error).message}`);
    }
  }

  /**
   * The job's inputs artifact is not needed once the job ended (the publisher pushed what it keeps). It exists
   * when this node pulled it, or pushed it itself (AIBOMGEN_JOB_INPUTS=registry on a node that also runs jobs).
   */
  private async dropInputs(id: string): Promise<void> {
    const pulled = this.pulledInputs.delete(id);
    if (!this.o.inputsVia || !(pulled || this.o.pushInputs)) return;
    await dropJobInputs(this.o.inputsVia, id).catch((err: unknown) => this.s.log.warn({ err, job: id }, 'jobs: could not delete the job inputs artifact'));
  }

  /** Trainer stdout: JSON progress lines become epoch/batch events; anything else is a log line. */
  private progress(id: string, line: string): void {
    if (!line.trim()) return;
    let parsed: ReturnType<typeof progressLineSchema.safeParse> | undefined;
    try {
      parsed = progressLineSchema.safeParse(JSON.parse(line));
    } catch {
      parsed = undefined;
    }
    const p = parsed?.success ? parsed.data : undefined;
    if (p?.type === 'epoch') void this.emit(id, { type: 'epoch', epoch: p.epoch, logs: p.logs });
    else if (p?.type === 'batch') void this.emit(id, { type: 'batch', epoch: p.epoch, batch: p.batch, logs: p.logs });
    else {
      const n = (this.logLines.get(id) ?? 0) + 1;
      this.logLines.set(id, n);
      if (n < MAX_LOG_EVENTS) void this.emit(id, { type: 'log', line: line.slice(0, 4096) });
      else if (n === MAX_LOG_EVENTS) void this.emit(id, { type: 'log', line: `[aibomgen: ${MAX_LOG_EVENTS - 1} log lines sent as events; the rest are in the job's stdout log only]` });
    }
  }

  private async failureReason(outputDir: string, stderrPath: string, code: number, runner: RunnerInfo | undefined): Promise<string> {
    const rec = (await readJsonObject(join(outputDir, 'error.json'), MAX_TRAINER_JSON)) as { code?: unknown; message?: unknown } | undefined;
    if (typeof rec?.message === 'string') return `${typeof rec.code === 'string' ? rec.code : 'error'}: ${rec.message.slice(0, 2000)}`;
    if (code === 137) return 'killed (exit 137): out of memory or a limit was hit';
    if (code === 125 && runner?.kind === 'process' && runner.image) return 'the process runner cannot run images: configure a container engine (AIBOMGEN_RUNNER=docker)';
    const tail = (await readTail(stderrPath, 16 * 1024)).trim().split('\n').slice(-3).join(' | ');
    return `exited with code ${code}${tail ? `: ${tail.slice(0, 500)}` : ''}`;
  }

  private async move(id: string, from: JobState, to: JobState): Promise<void> {
    assertMove(from, to);
    await this.s.db.updateTable('jobs').set({ state: to }).where('id', '=', id).execute();
    await this.emit(id, { type: 'state', state: to });
  }

  private async finish(id: string, from: JobState, to: 'succeeded' | 'failed' | 'cancelled', reason?: string): Promise<void> {
    this.logLines.delete(id);
    assertMove(from, to);
    await this.s.db.updateTable('jobs').set({ state: to, reason: reason ?? null, finished_at: new Date().toISOString() }).where('id', '=', id).execute();
    await this.emit(id, { type: 'state', state: to, ...(reason ? { reason } : {}) });
  }

  /** Appends in order per job (seq = previous + 1), even when progress lines arrive faster than the DB. */
  private emit(id: string, body: JobEventBody): Promise<unknown> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(() => this.log.append(id, body)).catch((err: unknown) => this.s.log.error({ err, job: id }, 'jobs: event append failed'));
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  private toView(row: Selectable<JobsTable>, inputs: { name: string; role: string; digest: string; size: number | string | bigint }[]): JobView {
    const spec = JSON.parse(row.spec_json) as Spec;
    return {
      id: row.id,
      state: row.state as JobState,
      owner: row.owner,
      framework: spec.framework,
      ...(row.reason ? { reason: row.reason } : {}),
      params: spec.params,
      metadata: spec.metadata,
      inputs: inputs.map((i) => ({ role: i.role as JobInputFile['role'], name: i.name, digest: i.digest, size: Number(i.size) })),
      ...(row.runner_json ? { runner: JSON.parse(row.runner_json) as RunnerInfo } : {}),
      createdAt: row.created_at,
      ...(row.started_at ? { startedAt: row.started_at } : {}),
      ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
      ...(row.publication_json ? { publication: JSON.parse(row.publication_json) as Publication } : {}),
      ...(row.metrics_json ? { metrics: JSON.parse(row.metrics_json) as Record<string, unknown> } : {}),
      ...(spec.image ? { image: spec.image } : {}),
      ...(spec.command ? { command: spec.command } : {}),
    };
  }
}

/** Cancel of a job already past the point of no return (attesting/publishing): HTTP 409. */
export class CancelRefused extends Error {}
