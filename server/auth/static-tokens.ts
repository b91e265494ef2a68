import { timingSafeEqual } from 'node:crypto';
import { userCaller } from '../identity.ts';
import { parseBasic, parseBearer } from './credentials.ts';
import type { CredentialResolver, Credentials, Resolution } from './resolver.ts';

/**
 * AIBOMGEN_TOKENS=`owner:token,…`: fixed tokens from the environment (tests, CI, a small install). Recognised
 * as `Bearer <token>` and as Basic `<owner>:<token>` (the owner must be the token's own).
 */
export class StaticTokens implements CredentialResolver {
  readonly name = 'static-token';
  private readonly tokens: { owner: string; token: Buffer }[];

  constructor(
    spec: string | undefined,
    private readonly isAdmin: (owner: string) => boolean = () => false,
  ) {
    this.tokens = (spec ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const i = p.indexOf(':');
        return { owner: p.slice(0, i), token: Buffer.from(p.slice(i + 1)) };
      })
      .filter((t) => t.owner && t.token.length);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The owner whose token this is, if any (constant-time comparison). */
  ownerOfToken(token: string): string | undefined {
    const given = Buffer.from(token);
    return this.tokens.find((t) => t.token.length === given.length && timingSafeEqual(t.token, given))?.owner;
  }

  async resolve(credentials: Credentials): Promise<Resolution> {
    const bearer = parseBearer(credentials.authorization);
    const basic = bearer === undefined ? parseBasic(credentials.authorization) : undefined;
    const owner = this.ownerOfToken(bearer ?? basic?.password ?? '');
    if (!owner) return undefined;
    // Another owner's token under this user name: as unknown as a wrong password.
    if (basic && basic.user !== owner) return undefined;
    return { caller: userCaller(owner, this.isAdmin(owner) ? { admin: true } : {}) };
  }
}
