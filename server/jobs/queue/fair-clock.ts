/**
 * Start-time fair queueing across owners for an engine that serves jobs by priority (pg-boss): a job's tag is
 * one more than the larger of its owner's last tag and the virtual time (the tag of the job claimed last), and
 * its priority is minus the tag. So owners alternate (each one's k-th waiting job has about the k-th tag), an
 * owner with 300 queued jobs delays a newcomer by about one job, and an owner who comes back after a pause
 * starts at the present, not with credit saved up.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/connect.ts';

const NOW = ''; // the row holding the virtual time

export class FairClock {
  constructor(private readonly db: Db) {}

  /**
   * The priority of `owner`'s next job (an integer: minus its tag). In `tx` when given (the job's own insert: a
   * second connection from the pool while that transaction holds one could wait forever with the pool drained).
   */
  async nextPriority(owner: string, tx?: Db): Promise<number> {
    return tx ? this.next(tx, owner) : this.db.transaction().execute((t) => this.next(t, owner));
  }

  private async next(tx: Db, owner: string): Promise<number> {
    // Postgres: the row locks keep two API nodes from handing out one tag twice for an owner.
    const rows = await tx
      .selectFrom('queue_fair_clock')
      .select(['owner', 'tag'])
      .where('owner', 'in', [NOW, owner])
      .forUpdate()
      .execute();
    const vt = Number(rows.find((r) => r.owner === NOW)?.tag ?? 0);
    const last = Number(rows.find((r) => r.owner === owner)?.tag ?? 0);
    const tag = Math.max(vt, last) + 1;
    await tx
      .insertInto('queue_fair_clock')
      .values({ owner, tag })
      .onConflict((oc) => oc.column('owner').doUpdateSet({ tag }))
      .execute();
    return -tag;
  }

  /** A job of `priority` was claimed: the virtual time moves up to its tag (never back). */
  async claimed(priority: number): Promise<void> {
    const tag = -priority;
    await this.db
      .insertInto('queue_fair_clock')
      .values({ owner: NOW, tag })
      .onConflict((oc) => oc.column('owner').doUpdateSet({ tag: sql`greatest(queue_fair_clock.tag, ${tag})` }))
      .execute();
  }
}
