import { type Caller, hasScope } from '../identity.ts';
import { bearerChallenge } from './challenge.ts';
import { RegistryError } from './errors.ts';

/**
 * Who may do what in the registry: ONE function that every read and write passes through, over HTTP (/v2/)
 * and in process (the publisher, job inputs, the verifier, GraphQL) alike, with the caller as an argument.
 *
 * The rules (auth on):
 * - the platform may do everything; an administrator may do everything a user can ask for;
 * - the platform's namespaces — the trusted one it publishes models into (`models/` by default), the inputs it
 *   publishes beside them (`datasets/`, `base-models/`) — are written (pushed, tagged, deleted, referrers
 *   attached) only by the platform; anyone who may pull may read them;
 * - the internal namespace `aibomgen/` (job inputs in transit) is neither readable nor writable by users;
 * - a user writes under `<owner>/…` and under namespaces granted to them (AIBOMGEN_NAMESPACE_GRANTS), nowhere else;
 * - pulls are open to anonymous callers unless AIBOMGEN_ANONYMOUS_PULL=false.
 * Auth off (a development install): everyone may do everything.
 */
export type RegistryAction = 'pull' | 'push' | 'delete';

export interface AccessPolicy {
  /** Accounts exist: anonymous callers may only pull (and only when `anonymousPull`). */
  authEnabled: boolean;
  anonymousPull: boolean;
  /** Namespaces only the platform writes (the trusted one first). */
  platformNamespaces: readonly string[];
  /** Namespaces nobody but the platform reads or writes. */
  internalNamespaces: readonly string[];
  /** Extra namespaces per owner (everyone owns `<owner>/…`). */
  grants: ReadonlyMap<string, readonly string[]>;
}

/** `ns=alice|bob;team=carol` → namespace → owners. */
export function parseGrants(spec: string | undefined): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const part of (spec ?? '').split(/[;,]/)) {
    const [ns, owners] = part.split('=');
    if (ns?.trim() && owners)
      m.set(
        ns.trim(),
        owners
          .split('|')
          .map((o) => o.trim())
          .filter(Boolean),
      );
  }
  return m;
}

const namespaceOf = (repo: string): string => repo.split('/')[0] ?? '';

const scopeOf: Record<RegistryAction, 'registry:pull' | 'registry:push' | 'registry:delete'> = {
  pull: 'registry:pull',
  push: 'registry:push',
  delete: 'registry:delete',
};

/** Throws UNAUTHORIZED (anonymous: 401 with a challenge) or DENIED (403) when `caller` may not do `action` on `repo`. */
export function authorize(policy: AccessPolicy, caller: Caller, repo: string, action: RegistryAction): void {
  if (caller.kind === 'platform') return;
  const ns = namespaceOf(repo);
  if (!policy.authEnabled) return;
  if (caller.kind === 'anonymous') {
    if (action === 'pull' && policy.anonymousPull && !policy.internalNamespaces.includes(ns)) return;
    throw unauthorized(repo, action);
  }
  // A registry token (/token) carries the repositories and actions it was granted; nothing else.
  if (
    caller.registryGrants &&
    !caller.registryGrants.some((g) => g.repository === repo && g.actions.includes(action))
  ) {
    if (repo) throw denied(`the registry token does not grant ${action} on ${repo}`);
  }
  // A managed API token limited by scopes: reading models counts as pulling.
  if (!hasScope(caller, scopeOf[action]) && !(action === 'pull' && hasScope(caller, 'models:read'))) {
    throw denied(`the token lacks the ${scopeOf[action]} scope`);
  }
  if (caller.admin && hasScope(caller, 'admin')) return;
  if (policy.internalNamespaces.includes(ns)) throw denied(`${repo || ns} is internal to the platform`);
  if (action === 'pull' || !repo) return;
  if (policy.platformNamespaces.includes(ns)) {
    throw denied(
      `${ns}/ is written only by the platform: models there are published by training jobs (push to ${caller.owner}/… instead)`,
    );
  }
  if (ns === caller.owner || policy.grants.get(ns)?.includes(caller.owner)) return;
  throw denied(
    `${caller.owner} may ${action} only under ${[caller.owner, ...grantsOf(policy, caller.owner)].map((n) => `${n}/`).join(', ')}`,
  );
}

function grantsOf(policy: AccessPolicy, owner: string): string[] {
  return [...policy.grants].filter(([, owners]) => owners.includes(owner)).map(([ns]) => ns);
}

function denied(message: string): RegistryError {
  return new RegistryError('DENIED', message);
}

function unauthorized(repo: string, action: RegistryAction): RegistryError {
  const what = repo ? `${action} on ${repo}` : 'this registry';
  return new RegistryError(
    'UNAUTHORIZED',
    `authentication required for ${what}: log in with <owner> and an API token (oras login, cosign login, docker login, aibomgen login)`,
    undefined,
    bearerChallenge(repo, action),
  );
}
