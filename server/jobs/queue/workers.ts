/**
 * The workers' own rows (`workers`): each node that runs jobs upserts its state, running jobs and GPUs on every
 * heartbeat, so any API node can show them (GraphQL `workers`, the dashboard's workers page). A worker whose
 * heartbeat is older than its lease reads as `lost` (it died without saying so).
 */
import type { Db } from '../../db/connect.ts';

export interface WorkerBeat {
  id: string;
  host: string;
  startedAt: string;
  running: string[];
  gpus: number;
  concurrency: number;
  keyId: string | null;
  engine: string;
}

export type WorkerState = 'idle' | 'busy' | 'stopped' | 'lost';

export interface WorkerView {
  id: string;
  host: string;
  state: WorkerState;
  heartbeatAt: string;
  startedAt: string;
  runningJobs: string[];
  gpus: number;
  concurrency: number;
  keyId: string | null;
  /**
   * The state of its signing key: a worker's own key `pending` / `approved` / `revoked` (attest_worker_keys), or
   * `platform` when it signs with the platform key.
   */
  keyState: 'pending' | 'approved' | 'revoked' | 'platform' | null;
  engine: string;
}

export class WorkerRegistry {
  constructor(
    private readonly db: Db,
    /** A heartbeat older than this reads as `lost`. */
    private readonly lostAfterMs: number,
  ) {}

  async beat(w: WorkerBeat): Promise<void> {
    const row = {
      host: w.host,
      state: 'running',
      heartbeat_at: new Date().toISOString(),
      started_at: w.startedAt,
      running_json: JSON.stringify(w.running),
      gpus: w.gpus,
      concurrency: w.concurrency,
      key_id: w.keyId,
      engine: w.engine,
    };
    await this.db
      .insertInto('workers')
      .values({ id: w.id, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
  }

  /** A clean shutdown: shown as `stopped`, not `lost`. */
  async stopped(id: string): Promise<void> {
    await this.db
      .updateTable('workers')
      .set({ state: 'stopped', running_json: '[]', heartbeat_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  async list(): Promise<WorkerView[]> {
    const rows = await this.db
      .selectFrom('workers')
      .leftJoin('attest_worker_keys', 'attest_worker_keys.key_id', 'workers.key_id')
      .selectAll('workers')
      .select('attest_worker_keys.state as key_state')
      .orderBy('workers.id')
      .execute();
    const now = Date.now();
    return rows.map((r) => {
      const running = JSON.parse(r.running_json) as string[];
      const state: WorkerState =
        r.state === 'stopped'
          ? 'stopped'
          : now - Date.parse(r.heartbeat_at) > this.lostAfterMs
            ? 'lost'
            : running.length
              ? 'busy'
              : 'idle';
      return {
        id: r.id,
        host: r.host,
        state,
        heartbeatAt: r.heartbeat_at,
        startedAt: r.started_at,
        runningJobs: state === 'lost' || state === 'stopped' ? [] : running,
        gpus: r.gpus,
        concurrency: r.concurrency,
        keyId: r.key_id,
        keyState: r.key_state ?? (r.key_id ? 'platform' : null),
        engine: r.engine,
      };
    });
  }
}
