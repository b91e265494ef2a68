import { type SessionLimits, SessionTable, type TrackedSession } from '../session-table.ts';
import type { UpstreamHttp } from './http.ts';

/**
 * One blob upload in progress on the upstream. Distribution 2.8 signs the session state (offset, name,
 * uuid) into the `_state` query of the Location it returns after every request, and refuses a request
 * that carries a stale one — so the latest Location is kept per session. The offset is counted here
 * rather than read from the upstream's `Range` header, which says `0-0` for both 0 and 1 byte.
 */
export interface UploadSession extends TrackedSession {
  /** The upstream Location to send the next PATCH/PUT/DELETE to. */
  location: string;
  offset: number;
}

export type UploadSessions = SessionTable<UploadSession>;

/**
 * Upload sessions of this process. They live in memory: after a restart a client's session is unknown
 * (BLOB_UPLOAD_UNKNOWN) and it starts over — the upstream purges the orphaned upload itself
 * (`maintenance.uploadpurging`). A session expired here is deleted upstream too, so its data goes at once.
 */
export function uploadSessions(http: UpstreamHttp, limits: SessionLimits): UploadSessions {
  return new SessionTable<UploadSession>(limits, (s) => deleteUpstream(http, s));
}

/** Deletes the session upstream; a failure (the upstream purged it already, or is down) is not one here. */
export async function deleteUpstream(http: UpstreamHttp, s: UploadSession): Promise<void> {
  await http.call('DELETE', s.location).then(
    (r) => r.body.dump(),
    () => {},
  );
}
