import { type Caller, hasScope, isAdmin } from '../identity.ts';

/**
 * Who may see (and follow, and cancel) a job: its owner, an administrator, the platform — and everyone when auth
 * is off (a development install). Everyone else is told the job does not exist (404 on every surface), so job
 * ids of other owners cannot be probed. One rule, applied by the Jobs service for REST, SSE and GraphQL alike.
 */
export function mayView(caller: Caller, owner: string, authEnabled: boolean): boolean {
  if (!authEnabled || caller.kind === 'platform' || isAdmin(caller)) return true;
  return caller.kind === 'user' && caller.owner === owner && hasScope(caller, 'jobs:read');
}

/** Cancelling needs the jobs:write scope as well. */
export function mayCancel(caller: Caller, owner: string, authEnabled: boolean): boolean {
  return mayView(caller, owner, authEnabled) && (!authEnabled || hasScope(caller, 'jobs:write'));
}

/** Submitting needs the jobs:write scope (a read-only token may not start jobs). */
export function maySubmit(caller: Caller, authEnabled: boolean): boolean {
  return !authEnabled || hasScope(caller, 'jobs:write');
}

/** The owner filter a listing is limited to: undefined = all owners (admins, the platform, auth off). */
export function listScope(caller: Caller, authEnabled: boolean): { owner?: string; none?: true } {
  if (!authEnabled || caller.kind === 'platform' || isAdmin(caller)) return {};
  if (caller.kind !== 'user' || !hasScope(caller, 'jobs:read')) return { none: true };
  return { owner: caller.owner };
}
