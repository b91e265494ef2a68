import { CreateTokenRequest, type TokenInfo } from '../../../schema/tokens.ts';
import { TokenError } from '../../auth/tokens.ts';
import type { GqlContext } from '../context.ts';
import { badInput, forbidden, gqlError, notFound } from '../errors.ts';

/** A token as the schema's ApiToken spells it. */
function view(t: TokenInfo) {
  return {
    id: t.id,
    owner: t.owner,
    name: t.name,
    scopes: t.scopes ?? null,
    createdBy: t.created_by,
    createdAt: t.created_at,
    expiresAt: t.expires_at ?? null,
    revokedAt: t.revoked_at ?? null,
    lastUsedAt: t.last_used_at ?? null,
  };
}

/** Managed tokens need auth on (the /graphql middleware has already refused anonymous callers then). */
function tokensOf(ctx: GqlContext) {
  if (!ctx.s.auth.enabled)
    throw gqlError(
      'UNAVAILABLE',
      'authentication is off on this server (AIBOMGEN_AUTH=off): API tokens are neither needed nor checked',
    );
  return ctx.s.auth.tokens;
}

async function mapped<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof TokenError)) throw e;
    throw e.code === 'not_found'
      ? notFound(e.message)
      : e.code === 'forbidden'
        ? forbidden(e.message)
        : badInput(e.message);
  }
}

/** `tokens`: the caller's managed API tokens (an administrator: everyone's), newest first. */
export const TokenQuery = {
  tokens: async (_: unknown, __: unknown, ctx: GqlContext) => (await tokensOf(ctx).list(ctx.caller)).map(view),
};

export const TokenMutation = {
  /** The token itself is in the answer this once; only its hash is kept. */
  createToken: async (
    _: unknown,
    a: { name: string; scopes?: string[] | null; expiresInDays?: number | null; owner?: string | null },
    ctx: GqlContext,
  ) => {
    const tokens = tokensOf(ctx);
    const req = CreateTokenRequest.safeParse({
      name: a.name,
      ...(a.scopes ? { scopes: a.scopes } : {}),
      ...(a.expiresInDays != null ? { expires_in_days: a.expiresInDays } : {}),
      ...(a.owner ? { owner: a.owner } : {}),
    });
    if (!req.success)
      throw badInput(
        req.error.issues
          .map((i) => `${i.path.join('.').replace('expires_in_days', 'expiresInDays') || 'input'}: ${i.message}`)
          .join('; '),
      );
    const { token, info } = await mapped(() => tokens.create(ctx.caller, req.data));
    return { token, apiToken: view(info) };
  },
  revokeToken: async (_: unknown, a: { id: string }, ctx: GqlContext) =>
    view(await mapped(() => tokensOf(ctx).revoke(ctx.caller, a.id))),
};
