import type { Caller } from '../identity.ts';
import { RegistryError } from './errors.ts';

/**
 * Who may do what in the registry: ONE function that every read and write passes through, over HTTP (/v2/)
 * and in process (the publisher, job inputs, the verifier, GraphQL) alike, with the caller as an argument.
 *
 * Today's policy: the platform may do everything. Auth off (no AIBOMGEN_TOKENS): everyone, everything.
 * Auth on: push and delete need an account; pull is open unless AIBOMGEN_ANONYMOUS_PULL=false (verifying a
 * model should need no account).
 */
export type RegistryAction = 'pull' | 'push' | 'delete';

export interface AccessPolicy {
  /** Accounts are configured: anonymous callers may only pull (and only when `anonymousPull`). */
  authEnabled: boolean;
  anonymousPull: boolean;
}

/** Throws UNAUTHORIZED (401 with a Basic challenge) when `caller` may not do `action` on `repo`. */
export function authorize(policy: AccessPolicy, caller: Caller, repo: string, action: RegistryAction): void {
  if (caller.kind === 'platform' || !policy.authEnabled) return;
  if (action === 'pull' && policy.anonymousPull) return;
  if (caller.kind === 'user') return;
  const what = repo ? `${action} on ${repo}` : 'this registry';
  throw new RegistryError(
    'UNAUTHORIZED',
    `authentication required for ${what}: log in with <owner> and a token of AIBOMGEN_TOKENS (oras login, cosign login, aibomgen login)`,
    undefined,
    {
      'WWW-Authenticate': 'Basic realm="aibomgen", charset="UTF-8"',
    },
  );
}
