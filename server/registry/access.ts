import type { Context } from 'hono';
import { authOf } from '../auth.ts';
import type { AppEnv, Services } from '../context.ts';
import { RegistryError } from './errors.ts';

/**
 * Who may do what on /v2/. Auth off (no AIBOMGEN_TOKENS): everyone, everything. Auth on: push and delete need a
 * token (Basic `<owner>:<token>` as oras/cosign/docker send after `login`, or Bearer as our CLI sends); pull is
 * open unless AIBOMGEN_ANONYMOUS_PULL=false (verifying a model should need no account). Requests the app makes
 * to itself in process (the publisher, GraphQL's setAlias) carry no socket and were authorised where they began.
 */
export type RegistryAction = 'pull' | 'push' | 'delete';

/** Throws UNAUTHORIZED (401 with a Basic challenge) when the request may not do `action` on `repo`. */
export function authorize(s: Services, c: Context<AppEnv>, repo: string, action: RegistryAction): void {
  const auth = authOf(s);
  if (!auth.enabled) return;
  if (!c.env?.incoming) return;
  if (action === 'pull' && s.config.anonymousPull) return;
  if (auth.ownerOfCredentials(c.req.header('authorization'))) return;
  const what = repo ? `${action} on ${repo}` : 'this registry';
  throw new RegistryError('UNAUTHORIZED', `authentication required for ${what}: log in with <owner> and a token of AIBOMGEN_TOKENS (oras login, cosign login, aibomgen login)`, undefined, {
    'WWW-Authenticate': 'Basic realm="aibomgen", charset="UTF-8"',
  });
}
