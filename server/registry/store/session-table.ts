import { RegistryError } from '../errors.ts';

/** Limits on upload sessions, from the configuration (both store modes). */
export interface SessionLimits {
  /** A session untouched this long is purged (AIBOMGEN_UPLOAD_TTL_SECONDS). */
  ttlMs: number;
  /** Open sessions one identity may hold (AIBOMGEN_MAX_UPLOAD_SESSIONS). */
  maxPerOwner: number;
}

export interface TrackedSession {
  id: string;
  repo: string;
  /** Who opened it (`ownerName` of the caller). */
  owner: string;
  lastUsed: number;
  /** A PATCH or PUT is running on it. */
  busy: boolean;
}

/**
 * The upload sessions one process holds, with the limits every store mode enforces: at most `maxPerOwner`
 * open per identity (more: 429 TOOMANYREQUESTS), one request at a time on each (a second one meanwhile: 409
 * BLOB_UPLOAD_INVALID — a client must not interleave chunks, and refusing is the only answer that cannot
 * leave a wrong blob behind), and expiry: a sweep every half TTL (at least every minute) purges sessions
 * untouched for the TTL through `expire` (files, upstream session), then forgets them.
 */
export class SessionTable<S extends TrackedSession> {
  private readonly byId = new Map<string, S>();
  private readonly perOwner = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly limits: SessionLimits,
    /** Purges what a session holds (its files, its upstream session); called with the session already forgotten. */
    private readonly expire: (s: S) => Promise<void>,
    /** Whether a session that looks expired is still in use elsewhere (another process): it is kept then. */
    private readonly stillUsed: (s: S) => Promise<boolean> = async () => false,
  ) {
    this.timer = setInterval(() => void this.sweep(), Math.min(Math.max(limits.ttlMs / 2, 200), 60_000));
    this.timer.unref();
  }

  get size(): number {
    return this.byId.size;
  }

  /** Creates a session for `owner` through `create`, unless the owner holds the most allowed already. */
  async open(owner: string, create: () => Promise<S>): Promise<S> {
    const held = this.perOwner.get(owner) ?? 0;
    if (held >= this.limits.maxPerOwner)
      throw new RegistryError(
        'TOOMANYREQUESTS',
        `${owner} has ${held} upload sessions open, the most allowed (AIBOMGEN_MAX_UPLOAD_SESSIONS): finish or cancel one first`,
        undefined,
        { 'Retry-After': String(Math.ceil(this.limits.ttlMs / 1000)) },
      );
    this.perOwner.set(owner, held + 1); // counted while it is created, so parallel opens cannot pass the cap
    try {
      const s = await create();
      this.byId.set(s.id, s);
      return s;
    } catch (e) {
      this.release(owner);
      throw e;
    }
  }

  /** Takes in a session this process did not open (found on disk after a restart); counted for its owner. */
  adopt(s: S): S {
    const had = this.byId.get(s.id);
    if (had) return had;
    this.byId.set(s.id, s);
    this.perOwner.set(s.owner, (this.perOwner.get(s.owner) ?? 0) + 1);
    return s;
  }

  get(repo: string, id: string): S | undefined {
    const s = this.byId.get(id);
    return s && s.repo === repo ? s : undefined;
  }

  /** Forgets a session (completed, cancelled, failed). */
  drop(id: string): void {
    const s = this.byId.get(id);
    if (!s) return;
    this.byId.delete(id);
    this.release(s.owner);
  }

  private release(owner: string): void {
    const n = (this.perOwner.get(owner) ?? 1) - 1;
    if (n > 0) this.perOwner.set(owner, n);
    else this.perOwner.delete(owner);
  }

  /**
   * Runs `fn` holding the session. A request arriving while another holds it is refused with 409 (its body
   * drained, so the client reads the answer); `fn` sees the session still registered.
   */
  async exclusive<T>(s: S, body: NodeJS.ReadableStream | undefined, fn: () => Promise<T>): Promise<T> {
    if (s.busy || this.byId.get(s.id) !== s) {
      body?.resume();
      if (this.byId.get(s.id) !== s) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${s.id} unknown`);
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `upload ${s.id} is busy: another PATCH or PUT on it has not ended; send one chunk at a time (GET the upload for its offset)`,
        undefined,
        {},
        409,
      );
    }
    s.busy = true;
    try {
      return await fn();
    } finally {
      s.busy = false;
      s.lastUsed = Date.now();
    }
  }

  /** Purges every idle session untouched for the TTL; resolves to how many went. One sweep runs at a time. */
  sweep(now = Date.now()): Promise<number> {
    this.sweeping ??= this.purge(now).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async purge(now: number): Promise<number> {
    let n = 0;
    const cutoff = now - this.limits.ttlMs;
    for (const s of [...this.byId.values()]) {
      if (s.busy || s.lastUsed >= cutoff || this.byId.get(s.id) !== s) continue;
      if (await this.stillUsed(s).catch(() => false)) continue;
      if (s.busy || this.byId.get(s.id) !== s) continue; // taken up meanwhile
      this.drop(s.id);
      await this.expire(s).catch(() => {});
      n++;
    }
    return n;
  }

  close(): void {
    clearInterval(this.timer);
    this.byId.clear();
    this.perOwner.clear();
  }
}
