import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from '../api-error.ts';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import { ANONYMOUS, type Caller, type UserCaller } from '../identity.ts';
import type { RegistryTokens } from './registry-tokens.ts';
import type { CredentialResolver, Credentials } from './resolver.ts';
import type { ApiTokens } from './tokens.ts';

/** What /healthz says about auth when it is off (a development switch, never a silent default). */
export const AUTH_OFF_WARNING =
  'authentication is off (AIBOMGEN_AUTH=off): anyone who reaches this server may do anything; never expose it';

const NO_CREDENTIALS = 'this server requires a token: send Authorization: Bearer <token> (aibomgen login)';
const UNKNOWN_CREDENTIALS = 'the token is not valid on this server';

/**
 * Identity at the HTTP edge. On (AIBOMGEN_AUTH=on, the default): every REST and GraphQL call needs a user,
 * found by the resolver chain (static tokens, managed API tokens, registry tokens, OIDC, the dashboard's
 * session); /v2/ leaves anonymous callers to the registry's access check. Off: everyone is anonymous and may
 * do anything (a development install; the server warns at start and on /healthz).
 */
export class Auth {
  constructor(
    private readonly config: Pick<Config, 'auth'>,
    /** Asked in order by `identify`; the composition root builds the list. */
    readonly resolvers: readonly CredentialResolver[],
    /** Managed API tokens (/developer/tokens, GraphQL, `aibomgen tokens`). */
    readonly tokens: ApiTokens,
    /** The registry's short-lived tokens (/token). */
    readonly registryTokens: RegistryTokens,
  ) {}

  get enabled(): boolean {
    return this.config.auth === 'on';
  }

  /** /healthz's body. */
  health(): { status: 'ok'; auth?: 'off'; warning?: string } {
    return this.enabled ? { status: 'ok' } : { status: 'ok', auth: 'off', warning: AUTH_OFF_WARNING };
  }

  /**
   * The caller of a REST or GraphQL request: a user when auth is on (else 401 naming why — no credentials, or
   * the resolver's reason for refusing them), anyone when it is off.
   */
  requireUser(c: Context<AppEnv>): Caller {
    const caller = c.get('caller');
    if (!this.enabled) return caller;
    // A registry token (/token) is for /v2/ only: it was made for a few repositories and actions, not the API.
    if (caller.kind === 'user' && caller.registryGrants)
      throw new HttpError(401, 'unauthorized', 'a registry token is valid on /v2/ only: send an API token');
    if (caller.kind !== 'anonymous') return caller;
    throw new HttpError(401, 'unauthorized', c.get('authProblem') ?? NO_CREDENTIALS);
  }

  /** The owner a request acts as (`anonymous` when auth is off); 401 like `requireUser`. */
  ownerOf(c: Context<AppEnv>): string {
    const caller = this.requireUser(c);
    return caller.kind === 'user' ? caller.owner : 'anonymous';
  }
}

/** Narrows `requireUser`'s answer where a user is needed even with auth off (creating tokens). */
export const isUser = (c: Caller): c is UserCaller => c.kind === 'user';

/**
 * Asks each resolver in turn: the first that recognises the credentials decides (a caller, or a refusal with its
 * reason); none recognising them is anonymous — with a problem when an Authorization header was sent.
 */
export async function resolveCredentials(
  resolvers: readonly CredentialResolver[],
  credentials: Credentials,
): Promise<{ caller: Caller; problem?: string }> {
  if (!resolvers.length || (!credentials.authorization && !credentials.cookie)) return { caller: ANONYMOUS };
  for (const r of resolvers) {
    const answer = await r.resolve(credentials);
    if (!answer) continue;
    return 'caller' in answer ? { caller: answer.caller } : { caller: ANONYMOUS, problem: answer.refused };
  }
  return credentials.authorization ? { caller: ANONYMOUS, problem: UNKNOWN_CREDENTIALS } : { caller: ANONYMOUS };
}

/**
 * Sets `c.var.caller` once per request from its credentials (`resolveCredentials`), and `c.var.authProblem` when
 * they were refused. What an anonymous caller may do is each surface's decision: /v2/ asks the registry's access
 * check, REST and GraphQL refuse it when auth is on (`requireUser`). Auth off: pass no resolvers (everyone is
 * anonymous).
 */
export function identify(resolvers: readonly CredentialResolver[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    const cookie = c.req.header('cookie');
    const { caller, problem } = await resolveCredentials(resolvers, {
      ...(authorization ? { authorization } : {}),
      ...(cookie ? { cookie } : {}),
    });
    c.set('caller', caller);
    if (problem) c.set('authProblem', problem);
    await next();
  };
}
