import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { JobEvent, Publication } from './contracts.ts';

/**
 * In-process event bus between areas. The registry front emits manifest events after a change is durable;
 * the lineage index and metrics listen. Jobs emit their state/progress events here (SSE and GraphQL
 * subscriptions listen). Listeners must not throw; a slow listener must queue its own work.
 */
export interface PlatformEvents {
  'manifest.put': [{ repo: string; digest: string; mediaType: string; bytes: Uint8Array; tag?: string }];
  'manifest.delete': [{ repo: string; digest: string }];
  'tag.delete': [{ repo: string; tag: string }];
  'blob.bytes': [{ direction: 'in' | 'out'; bytes: number }];
  'job.event': [JobEvent];
  'job.published': [{ jobId: string; publication: Publication }];
}

export type EventBus = EventEmitter<PlatformEvents>;

export function createEventBus(): EventBus {
  const bus = new EventEmitter<PlatformEvents>();
  bus.setMaxListeners(0); // one listener per open SSE stream / subscription
  return bus;
}

/** The Postgres channel job events travel on between nodes. */
const CHANNEL = 'aibomgen_job_events';
/** NOTIFY payloads are capped at 8000 bytes: a bigger event travels as its key and is read from `job_events`. */
const MAX_INLINE = 7000;

interface Wire {
  /** The sending node (a node ignores its own notifications: its bus had the event first). */
  n: string;
  e?: JobEvent;
  k?: { jobId: string; seq: number };
}

export interface EventBridge {
  close(): Promise<void>;
}

/**
 * Job events across API nodes and workers sharing one Postgres database: every `job.event` emitted here is
 * sent with NOTIFY (after its row is committed: the event log appends first), and every notification from
 * another node is emitted on this node's bus, so SSE and GraphQL subscribers on any node see the events of a
 * job any worker runs, as they happen — no polling of the table. One dedicated connection LISTENs; it is
 * re-opened when it drops (events sent meanwhile are still in `job_events`, which subscribers replay).
 */
export async function bridgeJobEvents(
  bus: EventBus,
  url: string,
  readEvent: (jobId: string, seq: number) => Promise<JobEvent | undefined>,
  onError: (err: unknown) => void,
): Promise<EventBridge> {
  const pg = (await import('pg')).default;
  const node = randomUUID();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const fromPeers = new WeakSet<JobEvent>();
  let listener: InstanceType<typeof pg.Client> | undefined;
  let closed = false;
  let sending: Promise<unknown> = Promise.resolve();
  let delivering: Promise<unknown> = Promise.resolve();

  const deliver = async (payload: string): Promise<void> => {
    const w = JSON.parse(payload) as Wire;
    if (w.n === node) return;
    const e = w.e ?? (w.k ? await readEvent(w.k.jobId, w.k.seq) : undefined);
    if (!e) return;
    fromPeers.add(e);
    bus.emit('job.event', e);
  };
  const listen = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (m) => {
      // One at a time, in arrival order: a big event is read from the table first, and the ones after it wait.
      if (m.channel === CHANNEL && m.payload) {
        const payload = m.payload;
        delivering = delivering.then(() => deliver(payload)).catch(onError);
      }
    });
    c.on('error', (err) => {
      onError(err);
      if (!closed) setTimeout(() => void listen().catch(onError), 1000).unref();
    });
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    listener = c;
  };
  await listen();

  const send = (e: JobEvent): void => {
    if (fromPeers.has(e) || closed) return;
    const inline = JSON.stringify({ n: node, e } satisfies Wire);
    const payload =
      Buffer.byteLength(inline) <= MAX_INLINE
        ? inline
        : JSON.stringify({ n: node, k: { jobId: e.jobId, seq: e.seq } } satisfies Wire);
    // One at a time: each NOTIFY commits before the next, so peers receive a job's events in seq order (a
    // subscriber drops an event older than the last it saw).
    sending = sending.then(() => pool.query('select pg_notify($1, $2)', [CHANNEL, payload])).catch(onError);
  };
  bus.on('job.event', send);
  return {
    async close() {
      closed = true;
      bus.off('job.event', send);
      await sending;
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}
