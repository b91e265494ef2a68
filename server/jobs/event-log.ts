/**
 * A job's event log: every state change and progress line becomes a row of `job_events` with a per-job seq
 * first, then goes out on the event bus. Subscribers (SSE, GraphQL subscriptions) replay the table and follow
 * the bus, so every event is stored before anyone can see it, and none is missed or seen twice.
 */
import type { Logger } from 'pino';
import { terminalJobStates, type JobEvent } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import { assertLeaseHeld } from './queue/fence.ts';

type Body<E> = E extends JobEvent ? Omit<E, 'jobId' | 'seq' | 'at'> : never;
export type JobEventBody = Body<JobEvent>;

/** How often a subscriber looks in the table for events written by another process (a worker). */
const POLL_MS = 1000;

/** Appends job events with a per-job seq, then emits them on the bus; replays them from the table. */
export class JobEventLog {
  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
  ) {}

  async append(jobId: string, body: JobEventBody): Promise<JobEvent> {
    const at = new Date().toISOString();
    const event = await this.db.transaction().execute(async (tx) => {
      await assertLeaseHeld(tx, jobId); // a run that lost the job (queue/fence.ts) adds no events
      const last = await tx
        .selectFrom('job_events')
        .select((eb) => eb.fn.max('seq').as('m'))
        .where('job_id', '=', jobId)
        .executeTakeFirst();
      const seq = Number(last?.m ?? 0) + 1;
      await tx
        .insertInto('job_events')
        .values({ job_id: jobId, seq, type: body.type, body_json: JSON.stringify(body), at })
        .execute();
      return { ...body, jobId, seq, at } as JobEvent;
    });
    this.bus.emit('job.event', event);
    return event;
  }

  async replay(jobId: string, afterSeq = 0): Promise<JobEvent[]> {
    const rows = await this.db
      .selectFrom('job_events')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ ...(JSON.parse(r.body_json) as JobEventBody), jobId, seq: r.seq, at: r.at }) as JobEvent);
  }
}

export interface JobJournalDeps {
  db: Db;
  events: EventBus;
  log: Logger;
  /** True while this process runs the job: its events come on the bus, the table need not be polled. */
  runsHere(jobId: string): boolean;
  /** Events of other processes reach this bus (Postgres LISTEN/NOTIFY, server/events.ts): never poll the table. */
  crossNode?: boolean;
}

/**
 * The jobs area's view of the log: ordered appends (seq = previous + 1 even when progress lines arrive faster
 * than the database takes them), replay + follow subscriptions, and the stored log lines of a job.
 */
export class JobJournal {
  private readonly store: JobEventLog;
  /** Per-job append chain: seq numbers are assigned one at a time per job. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly d: JobJournalDeps) {
    this.store = new JobEventLog(d.db, d.events);
  }

  /** Appends in order per job; never rejects (a failed append is logged). */
  emit(id: string, body: JobEventBody): Promise<unknown> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev
      .then(() => this.store.append(id, body))
      .catch((err: unknown) => this.d.log.error({ err, job: id }, 'jobs: event append failed'));
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  /** Waits for every append in flight. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  /** The log lines stored as events: what any node can show of a job another node ran. */
  async logLines(id: string): Promise<string[]> {
    return (await this.store.replay(id)).flatMap((e) => (e.type === 'log' ? [e.line] : []));
  }

  /** Replays the job's past events, then delivers new ones, each once and in seq order; returns unsubscribe. */
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
    this.d.events.on('job.event', listener);
    // Events written by another process (a worker) never reach this process's bus: poll the table too,
    // except while this process runs the job (its events come on the bus).
    let polling = false;
    poll = setInterval(() => {
      if (replaying || polling || this.d.crossNode || this.d.runsHere(id)) return;
      polling = true;
      void this.store
        .replay(id, last)
        .then(
          (more) => more.forEach(deliver),
          () => undefined,
        )
        .finally(() => (polling = false));
    }, POLL_MS);
    void this.store.replay(id).then(
      (past) => {
        for (const e of past) deliver(e);
        replaying = false;
        for (const e of buffered.sort((a, b) => a.seq - b.seq)) deliver(e);
      },
      (err: unknown) => this.d.log.error({ err, job: id }, 'jobs: event replay failed'),
    );
    return () => {
      clearInterval(poll);
      this.d.events.off('job.event', listener);
    };
  }
}
