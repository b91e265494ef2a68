/**
 * Who is asking. Every request and every in-process call into a service carries one of these, explicitly:
 * the HTTP edge derives it from the credentials (server/auth.ts), the platform's own work (publishing a
 * job's model, moving a job's inputs) acts as `platform`.
 */
export type Caller = { kind: 'platform' } | { kind: 'user'; owner: string } | { kind: 'anonymous' };

export const PLATFORM: Caller = Object.freeze({ kind: 'platform' });
export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous' });
export const userCaller = (owner: string): Caller => ({ kind: 'user', owner });

/** The owner name recorded on what a caller creates (jobs, uploads): `anonymous` when auth is off. */
export function ownerName(c: Caller): string {
  return c.kind === 'user' ? c.owner : c.kind;
}
