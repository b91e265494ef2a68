import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from './api-error.ts';
import type { Config } from './config.ts';
import type { AppEnv } from './context.ts';
import { ANONYMOUS, type Caller, userCaller } from './identity.ts';

/**
 * Bearer-token auth for the REST and GraphQL APIs. With `AIBOMGEN_TOKENS=alice:s3cret,bob:…` every request
 * must carry `Authorization: Bearer <token>` and acts as that owner; without it auth is off and everyone is
 * "anonymous" (the embedded single-user default).
 */
export class Auth {
  private readonly tokens: { owner: string; token: Buffer }[];
  constructor(config: Pick<Config, 'tokens'>) {
    this.tokens = (config.tokens ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const i = p.indexOf(':');
        return { owner: p.slice(0, i), token: Buffer.from(p.slice(i + 1)) };
      })
      .filter((t) => t.owner && t.token.length);
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The owner whose token this is, if any (constant-time comparison). */
  ownerOfToken(token: string): string | undefined {
    const given = Buffer.from(token);
    return this.tokens.find((t) => t.token.length === given.length && timingSafeEqual(t.token, given))?.owner;
  }

  /**
   * The owner of an `Authorization` header registry clients send: `Bearer <token>` (our CLI and dashboard) or
   * `Basic base64(<owner>:<token>)` (oras/cosign/skopeo/docker login). Undefined when absent or not valid.
   */
  ownerOfCredentials(header: string | undefined): string | undefined {
    const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (bearer) return this.ownerOfToken(bearer[1]!.trim());
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
    if (!basic) return undefined;
    const pair = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const i = pair.indexOf(':');
    if (i <= 0) return undefined;
    const owner = this.ownerOfToken(pair.slice(i + 1));
    return owner === pair.slice(0, i) ? owner : undefined;
  }

  /** The owner a request acts as; throws 401 when auth is on and the token is missing or unknown. */
  ownerOf(c: Context): string {
    if (!this.enabled) return 'anonymous';
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    if (!m)
      throw new HttpError(
        401,
        'unauthorized',
        'this server requires a token: send Authorization: Bearer <token> (aibomgen login)',
      );
    const owner = this.ownerOfToken(m[1]!.trim());
    if (!owner) throw new HttpError(401, 'unauthorized', 'the token is not valid on this server');
    return owner;
  }
}

/**
 * Sets `c.var.caller` once per request from its credentials (Bearer or Basic): a user, else anonymous. What an
 * anonymous caller may do is each surface's decision: /v2/ asks the registry's access check, REST and GraphQL
 * refuse it when auth is on (`ownerOf`).
 */
export function identify(auth: Auth): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const owner = auth.enabled ? auth.ownerOfCredentials(c.req.header('authorization')) : undefined;
    const caller: Caller = owner ? userCaller(owner) : ANONYMOUS;
    c.set('caller', caller);
    await next();
  };
}
