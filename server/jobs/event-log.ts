import type { JobEvent } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';

type Body<E> = E extends JobEvent ? Omit<E, 'jobId' | 'seq' | 'at'> : never;
export type JobEventBody = Body<JobEvent>;

/**
 * Appends job events with a per-job seq, then emits them on the bus: SSE replays from the table and
 * follows the bus, so every event is stored before anyone can see it.
 */
export class JobEventLog {
  constructor(private readonly db: Db, private readonly bus: EventBus) {}

  async append(jobId: string, body: JobEventBody): Promise<JobEvent> {
    const at = new Date().toISOString();
    const event = await this.db.transaction().execute(async (tx) => {
      const last = await tx.selectFrom('job_events').select((eb) => eb.fn.max('seq').as('m')).where('job_id', '=', jobId).executeTakeFirst();
      const seq = Number(last?.m ?? 0) + 1;
      await tx.insertInto('job_events').values({ job_id: jobId, seq, type: body.type, body_json: JSON.stringify(body), at }).execute();
      return { ...body, jobId, seq, at } as JobEvent;
    });
    this.bus.emit('job.event', event);
    return event;
  }

  async replay(jobId: string, afterSeq = 0): Promise<JobEvent[]> {
    const rows = await this.db.selectFrom('job_events').selectAll().where('job_id', '=', jobId).where('seq', '>', afterSeq).orderBy('seq').execute();
    return rows.map((r) => ({ ...(JSON.parse(r.body_json) as JobEventBody), jobId, seq: r.seq, at: r.at }) as JobEvent);
  }
}
