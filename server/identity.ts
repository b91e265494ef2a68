import { tokenScopes } from '../schema/tokens.ts';

/**
 * Who is asking. Every request and every in-process call into a service carries one of these, explicitly:
 * the HTTP edge derives it from the credentials (server/auth.ts and server/auth/*), the platform's own work
 * (publishing a job's model, moving a job's inputs) acts as `platform`.
 */
export type Caller = { kind: 'platform' } | UserCaller | { kind: 'anonymous' };

/** Scopes a managed API token may be limited to (declared with the token contract in schema/tokens.ts); a caller
 * without `scopes` has all of its owner's rights. */
export const scopes = tokenScopes;
export type Scope = (typeof scopes)[number];

/** Registry actions granted on one repository by a short-lived registry token (/token). */
export interface RegistryGrant {
  repository: string;
  actions: readonly ('pull' | 'push' | 'delete')[];
}

export interface UserCaller {
  kind: 'user';
  owner: string;
  /** An administrator: sees and may do everything a user can ask for. */
  admin?: boolean;
  /** Limits of a managed API token; undefined = every right of the owner. */
  scopes?: readonly Scope[];
  /** Limits of a registry token: only these repositories and actions. */
  registryGrants?: readonly RegistryGrant[];
}

export const PLATFORM: Caller = Object.freeze({ kind: 'platform' });
export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous' });
export const userCaller = (owner: string, extra: Omit<UserCaller, 'kind' | 'owner'> = {}): UserCaller => ({
  kind: 'user',
  owner,
  ...extra,
});

/** The owner name recorded on what a caller creates (jobs, uploads): `anonymous` when auth is off. */
export function ownerName(c: Caller): string {
  return c.kind === 'user' ? c.owner : c.kind;
}

/** Whether `c` holds `scope` (a caller without scopes holds all of them; `admin` needs the admin flag too). */
export function hasScope(c: Caller, scope: Scope): boolean {
  if (c.kind === 'platform') return true;
  if (c.kind !== 'user') return false;
  if (scope === 'admin' && !c.admin) return false;
  return !c.scopes || c.scopes.includes(scope) || (c.admin === true && c.scopes.includes('admin'));
}

/** The platform, or an administrator whose token is not limited below admin. */
export function isAdmin(c: Caller): boolean {
  return c.kind === 'platform' || (c.kind === 'user' && c.admin === true && hasScope(c, 'admin'));
}
