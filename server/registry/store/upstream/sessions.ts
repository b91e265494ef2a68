/**
 * One blob upload in progress on the upstream. Distribution 2.8 signs the session state (offset, name,
 * uuid) into the `_state` query of the Location it returns after every request, and refuses a request
 * that carries a stale one — so the latest Location is kept per session. The offset is counted here
 * rather than read from the upstream's `Range` header, which says `0-0` for both 0 and 1 byte.
 */
export interface UploadSession {
  id: string;
  repo: string;
  /** The upstream Location to send the next PATCH/PUT/DELETE to. */
  location: string;
  offset: number;
  lastUsed: number;
  /** Tail of the per-session queue: requests on one session run one after another, in arrival order. */
  tail: Promise<unknown>;
}

/**
 * Upload sessions of this process. They live in memory: after a restart a client's session is unknown
 * (BLOB_UPLOAD_UNKNOWN) and it starts over — the upstream purges the orphaned upload itself
 * (`maintenance.uploadpurging`). Idle sessions are forgotten after `idleMs`.
 */
export class UploadSessions {
  private readonly byId = new Map<string, UploadSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly idleMs = 24 * 3600_000) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 3600_000));
    this.sweeper.unref();
  }

  open(id: string, repo: string, location: string): UploadSession {
    const s: UploadSession = { id, repo, location, offset: 0, lastUsed: Date.now(), tail: Promise.resolve() };
    this.byId.set(id, s);
    return s;
  }

  get(repo: string, id: string): UploadSession | undefined {
    const s = this.byId.get(id);
    return s && s.repo === repo ? s : undefined;
  }

  drop(id: string): void {
    this.byId.delete(id);
  }

  /** Runs `fn` after every earlier request on the same session has finished. */
  exclusive<T>(s: UploadSession, fn: () => Promise<T>): Promise<T> {
    const run = s.tail.then(fn, fn);
    s.tail = run.catch(() => {});
    s.lastUsed = Date.now();
    return run;
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [id, s] of this.byId) if (s.lastUsed < cutoff) this.byId.delete(id);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.byId.clear();
  }
}
