/**
 * The audit log (table `audit_log`): who did or was refused what, when, with which result. Records are queued
 * in memory and written in batches (every FLUSH_MS, or at once when BATCH fill up), so recording costs a request
 * nothing it waits for; `close()` writes what is still queued (a normal shutdown loses nothing). A batch the
 * database refuses is logged whole, as error lines, rather than silently dropped.
 */
import { randomBytes } from 'node:crypto';
import { type Insertable, type Selectable, sql } from 'kysely';
import type { Logger } from 'pino';
import type { AuditLogTable } from '../../schema/db/audit.ts';
import type { Db } from '../db/connect.ts';

const FLUSH_MS = 200;
const BATCH = 100;
export const MAX_PAGE = 500;

export type AuditResult = 'ok' | 'refused' | 'error';

/** One thing that happened, as the HTTP edge saw it. */
export interface AuditEntry {
  actor: string;
  action: string;
  target?: string;
  status: number;
  result: AuditResult;
  requestId?: string;
  detail?: string;
}

/** A stored entry. */
export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}

export interface AuditQuery {
  /** 1..MAX_PAGE, newest first. */
  limit: number;
  /** The id of the last entry of the previous page: older entries follow. */
  after?: string;
  /** Exactly this actor. */
  actor?: string;
  /** Actions containing this text (e.g. `graphql`, `/v2/`, `submit_job`). */
  action?: string;
}

/** The live log of each database in this process: a read flushes what it still holds first. */
const live = new WeakMap<Db, AuditLog>();

export class AuditLog {
  private queue: Insertable<AuditLogTable>[] = [];
  /** Records still being completed (their response body read): a flush waits for them. */
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    live.set(db, this);
  }

  /** Queues one entry; never waits and never throws. */
  record(e: AuditEntry): void {
    this.queue.push({
      id: uuidv7(),
      at: new Date().toISOString(),
      actor: e.actor,
      action: clip(e.action, 512)!,
      target: clip(e.target, 2048) ?? null,
      status: e.status,
      result: e.result,
      request_id: clip(e.requestId, 255) ?? null,
      detail: clip(e.detail, 2048) ?? null,
    });
    if (this.queue.length >= BATCH) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref(); // close() flushes; a timer must not hold a finished process open
    }
  }

  /** Records an entry once `entry` resolves (it reads the response); a flush waits for it. */
  recordLater(entry: Promise<AuditEntry | undefined>): void {
    const p: Promise<void> = entry
      .then((e) => {
        if (e) this.record(e);
      })
      .catch((err: unknown) => this.log.error({ err }, 'audit: an entry could not be completed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Writes everything recorded so far (including entries still being completed). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.writing.then(() => this.write(this.queue.splice(0)));
    this.writing = run;
    return run;
  }

  /** Writes what is queued (call after the HTTP server stopped taking requests). */
  async close(): Promise<void> {
    await this.flush();
    if (live.get(this.db) === this) live.delete(this.db);
  }

  private async write(rows: Insertable<AuditLogTable>[]): Promise<void> {
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      try {
        await this.db.insertInto('audit_log').values(batch).execute();
      } catch (err) {
        // Not lost without a trace: the entries go to the server log.
        for (const entry of batch) this.log.error({ err, audit: entry }, 'audit: entry could not be stored');
      }
    }
  }
}

/** A page of the log, newest first; what this process still queues for `db` is written first. */
export async function readAuditLog(db: Db, q: AuditQuery): Promise<AuditRecord[]> {
  await live.get(db)?.flush();
  let query = db.selectFrom('audit_log').selectAll();
  if (q.after) query = query.where('id', '<', q.after);
  if (q.actor) query = query.where('actor', '=', q.actor);
  if (q.action) {
    const pattern = `%${q.action.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    query = query.where(sql<boolean>`action like ${pattern} escape '\\'`);
  }
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map(toRecord);
}

function toRecord(r: Selectable<AuditLogTable>): AuditRecord {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    ...(r.target !== null ? { target: r.target } : {}),
    status: Number(r.status),
    result: r.result as AuditResult,
    ...(r.request_id !== null ? { requestId: r.request_id } : {}),
    ...(r.detail !== null ? { detail: r.detail } : {}),
  };
}

function clip(s: string | undefined, max: number): string | undefined {
  if (s === undefined) return undefined;
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

let lastMs = 0;
let seq = 0;

/** A UUIDv7 (RFC 9562): 48 bits of milliseconds, then a counter within the millisecond; ids sort by time. */
export function uuidv7(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    seq = 0;
  } else if (++seq > 0xfff) {
    lastMs += 1; // more than 4096 in one millisecond: borrow the next one
    seq = 0;
  }
  ms = lastMs;
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
