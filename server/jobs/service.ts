/**
 * The jobs service as the rest of the platform sees it (JobService: REST, GraphQL, the CLI demo): a small
 * facade over the durable queue (queue.ts), the scheduler (scheduler.ts), the executor (executor.ts) and the
 * event log (event-log.ts), built with explicit dependencies by the jobs area (area.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Caller } from '../identity.ts';
import {
  terminalJobStates,
  type JobEvent,
  type JobService,
  type JobState,
  type JobView,
  type Publisher,
  type SubmitJobInput,
} from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import type { OciTarget } from '../oci/target.ts';
import { JobError } from './errors.ts';
import { JobJournal } from './event-log.ts';
import { Executor, type RunLimits } from './executor.ts';
import { pushJobInputs } from './input-transfer.ts';
import { jobDir } from './paths.ts';
import { listScope, mayCancel, mayView } from './visibility.ts';
import { JobQueue } from './queue.ts';
import { recoverInterrupted, removeOrphanUploads } from './recovery.ts';
import type { PublicationRecoveryDeps } from './recovery-publication.ts';
import type { Runner } from './runners/port.ts';
import { deadReason } from './queue/leases.ts';
import type { LostRun, QueueEngine } from './queue/port.ts';
import type { WorkerRegistry } from './queue/workers.ts';
import { Scheduler } from './scheduler.ts';
import { JobTransitions } from './transitions.ts';

export interface JobsOptions {
  dataDir: string;
  db: Db;
  events: EventBus;
  log: Logger;
  runner: Runner;
  publisher: Publisher;
  /** The registry in process, acting as the platform (job inputs: input-transfer.ts). */
  registry: OciTarget;
  /** Jobs run at once on this node. */
  concurrency: number;
  limits: RunLimits;
  requeueInterrupted: boolean;
  /** `api`: never runs jobs (workers do); `worker`/`all`: claims and runs them. */
  role: 'all' | 'api' | 'worker';
  workerId: string;
  /** AIBOMGEN_JOB_INPUTS=registry: push each job's inputs to the registry when it is submitted. */
  pushInputs: boolean;
  /** Auth on: jobs are visible to their owners and administrators only (visibility.ts). */
  authEnabled: boolean;
  /** What recovery checks and removes partial publications of interrupted jobs with (recovery-publication.ts). */
  publications?: PublicationRecoveryDeps;
  /** The queue port (queue/port.ts): claims, leases, retries, dead letters. */
  engine: QueueEngine;
  leaseMs: number;
  /** The workers' rows (operators' view) and what this node shows there. */
  workers?: WorkerRegistry;
  workerInfo?: { host: string; gpus: number; keyId: string | null };
  /** Whether this node may take jobs now (its signing key approved and in the layouts in force); absent: yes. */
  mayClaim?: () => Promise<boolean>;
  /** Job events of other nodes reach this node's bus (Postgres LISTEN/NOTIFY): no table polling. */
  crossNodeEvents?: boolean;
}

/** How long a cancel waits for another node to stop the job it runs. */
const REMOTE_CANCEL_WAIT_MS = 15_000;

export class Jobs implements JobService {
  private readonly queue: JobQueue;
  private readonly journal: JobJournal;
  private readonly transitions: JobTransitions;
  private readonly scheduler: Scheduler;

  constructor(private readonly o: JobsOptions) {
    this.queue = new JobQueue(o.db);
    this.journal = new JobJournal({
      db: o.db,
      events: o.events,
      log: o.log,
      runsHere: (id) => this.scheduler.runsHere(id),
      crossNode: o.crossNodeEvents ?? false,
    });
    this.transitions = new JobTransitions(this.queue, this.journal);
    const executor = new Executor({
      dataDir: o.dataDir,
      queue: this.queue,
      journal: this.journal,
      transitions: this.transitions,
      runner: o.runner,
      publisher: o.publisher,
      registry: o.registry,
      events: o.events,
      log: o.log,
      limits: o.limits,
      pushInputs: o.pushInputs,
      workerId: o.workerId,
    });
    this.scheduler = new Scheduler({
      engine: o.engine,
      queue: this.queue,
      db: o.db,
      log: o.log,
      concurrency: o.concurrency,
      workerId: o.workerId,
      leaseMs: o.leaseMs,
      ...(o.workers ? { registry: o.workers } : {}),
      ...(o.workerInfo ? { info: o.workerInfo } : {}),
      ...(o.mayClaim ? { mayClaim: o.mayClaim } : {}),
      claimed: async (job) => {
        await this.journal.emit(job.id, { type: 'state', state: 'running' });
      },
      lost: (run) => this.lostRun(run),
      execute: (job, startedAt, signal) => executor.execute(job, startedAt, signal),
    });
  }

  get runnerKind(): Runner['kind'] {
    return this.o.runner.kind;
  }

  dir(id: string): string {
    return jobDir(this.o.dataDir, id);
  }

  // ---- lifecycle ----

  /** Recovery after a crash, then the first scheduling round (nodes that run jobs). */
  async start(): Promise<void> {
    await mkdir(join(this.o.dataDir, 'jobs'), { recursive: true, mode: 0o700 });
    await this.o.engine.start();
    if (this.o.role === 'api') return; // workers recover and run jobs
    await recoverInterrupted({ ...this.o, queue: this.queue, journal: this.journal, transitions: this.transitions });
    // Leases this worker held before its restart belong to dead runs: the engine lets go of them now.
    for (const run of await this.o.engine.abandon(this.o.workerId)) await this.lostRun(run);
    await removeOrphanUploads({ dataDir: this.o.dataDir, queue: this.queue });
    this.scheduler.start();
  }

  /** The state event of a run whose worker died: re-queued, or failed for good (the row says the same). */
  private async lostRun(run: LostRun): Promise<void> {
    if (run.outcome === 'dead')
      await this.journal.emit(run.jobId, { type: 'state', state: 'failed', reason: deadReason(run.attempts) });
    else {
      const reason = `worker ${run.worker} stopped heartbeating (run ${run.epoch})`;
      await this.journal.emit(run.jobId, { type: 'state', state: 'queued', reason });
    }
  }

  async close(): Promise<void> {
    await this.scheduler.close();
    await this.journal.settle();
    await this.o.runner.close();
    await this.o.engine.close();
  }

  // ---- JobService ----

  /** Queues a job whose files are already in place (under `dir(input.id)` when the upload put them there). */
  async submit(input: SubmitJobInput): Promise<JobView> {
    const id = input.id ?? randomUUID();
    // Pushed before the job is queued: a worker on another host may claim it at once.
    if (this.o.pushInputs) {
      try {
        await pushJobInputs(this.o.registry, this.dir(id), id);
      } catch (e) {
        throw new JobError(
          'registry_unavailable',
          `the job's inputs could not be stored in the registry for the workers: ${(e as Error).message}`,
        );
      }
    }
    try {
      await this.queue.insert(id, input, new Date().toISOString(), (tx) =>
        this.o.engine.enqueue({ id, owner: input.owner }, tx),
      );
    } catch (e) {
      if (e instanceof JobError) throw e;
      // Nothing was stored: the job row and the engine's entry are one transaction.
      throw new JobError('registry_unavailable', `the job could not be queued: ${(e as Error).message}`);
    }
    await this.journal.emit(id, { type: 'state', state: 'queued' });
    this.scheduler.pump();
    return (await this.queue.view(id))!;
  }

  /** The job, or null when it does not exist or `caller` may not see it (visibility.ts). */
  async get(id: string, caller: Caller): Promise<JobView | null> {
    const job = await this.queue.view(id);
    return job && mayView(caller, job.owner, this.o.authEnabled) ? job : null;
  }

  /** A page of the jobs `caller` may see; `owner` narrows it further (a user asking for another owner's: none). */
  list(
    q: { owner?: string; state?: JobState; limit: number; after?: string },
    caller: Caller,
  ): Promise<{ items: JobView[]; next?: string }> {
    const scope = listScope(caller, this.o.authEnabled);
    if (scope.none || (scope.owner && q.owner && q.owner !== scope.owner)) return Promise.resolve({ items: [] });
    return this.queue.list(scope.owner ? { ...q, owner: scope.owner } : q);
  }

  /** Cancels a queued or running job; a job whose model is being attested or published: JobError `conflict`. */
  async cancel(id: string, caller: Caller): Promise<JobView | null> {
    const seen = await this.queue.view(id);
    if (!seen || !mayCancel(caller, seen.owner, this.o.authEnabled)) return null;
    return this.cancelJob(id);
  }

  private async cancelJob(id: string): Promise<JobView | null> {
    const job = await this.queue.view(id);
    if (!job) return null;
    if (terminalJobStates.includes(job.state)) return job;
    if (job.state === 'queued') {
      if (await this.queue.cancelQueued(id, 'cancelled by request', new Date().toISOString())) {
        await this.journal.emit(id, { type: 'state', state: 'cancelled', reason: 'cancelled by request' });
        return this.queue.view(id);
      }
      return this.cancelJob(id); // it started meanwhile
    }
    if (job.state !== 'running')
      throw new JobError('conflict', `job ${id} is ${job.state}: too late to cancel, its model is being published`);
    if (await this.scheduler.stop(id)) return this.queue.view(id);
    // Another process runs it: ask through the database and wait for that worker to stop it.
    await this.queue.requestCancel(id);
    for (const until = Date.now() + REMOTE_CANCEL_WAIT_MS; Date.now() < until; ) {
      const now = await this.queue.view(id);
      if (now?.state !== 'running') return now;
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.queue.view(id);
  }

  /** Replays and follows the job's events; call only for a job `get(id, caller)` returned (the edge checks first). */
  subscribe(id: string, onEvent: (e: JobEvent) => void): () => void {
    return this.journal.subscribe(id, onEvent);
  }

  /** The log lines stored as events: what any node can show of a job another node ran. */
  storedLogLines(id: string): Promise<string[]> {
    return this.journal.logLines(id);
  }
}
