import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { AuthTokensTable } from '../../schema/db/auth.ts';
import type { CreateTokenRequest, TokenInfo } from '../../schema/tokens.ts';
import type { Db } from '../db/connect.ts';
import { type Caller, hasScope, isAdmin, type Scope, type UserCaller, userCaller } from '../identity.ts';
import { parseBasic, parseBearer } from './credentials.ts';
import type { CredentialResolver, Credentials, Resolution } from './resolver.ts';

export const TOKEN_PREFIX = 'abg_';
/** last_used_at is written at most this often per token, not on every request (blob uploads send many). */
const LAST_USED_EVERY_MS = 60_000;

/** A refusal the REST and GraphQL edges turn into their own shape. */
export class TokenError extends Error {
  constructor(
    readonly code: 'bad_request' | 'forbidden' | 'not_found',
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const now = (): string => new Date().toISOString();

/**
 * Managed API tokens for CLIs and CI (`abg_<43 characters of base64url>`): created over REST, GraphQL or the
 * CLI, shown once, stored as their SHA-256 only, limited by scopes and an expiry, revocable. Also the resolver
 * that recognises them as `Bearer abg_…` or as the password of Basic `<owner>:abg_…` (registry logins).
 */
export class ApiTokens implements CredentialResolver {
  readonly name = 'api-token';
  private readonly admins: ReadonlySet<string>;

  constructor(
    private readonly db: Db,
    admins: string | undefined,
  ) {
    this.admins = new Set(
      (admins ?? '')
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    );
  }

  /** Whether an owner is an administrator by configuration (AIBOMGEN_ADMINS). */
  isConfiguredAdmin(owner: string): boolean {
    return this.admins.has(owner);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('auth_tokens')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Creates a token for `creator` (or, for an administrator, for `req.owner`). Its scopes may not exceed the
   * creator's: a token limited to registry:pull cannot mint a push token, and only an administrator grants `admin`.
   */
  async create(creator: Caller, req: CreateTokenRequest): Promise<{ token: string; info: TokenInfo }> {
    if (creator.kind === 'anonymous') throw new TokenError('forbidden', 'creating a token needs an identity');
    if (!hasScope(creator, 'tokens:write')) throw new TokenError('forbidden', 'the token lacks the tokens:write scope');
    const self = creator.kind === 'user' ? creator.owner : undefined;
    const owner = req.owner ?? self;
    if (!owner) throw new TokenError('bad_request', 'owner: the platform must name the owner of a token');
    if (owner !== self && !isAdmin(creator))
      throw new TokenError('forbidden', `only an administrator may create tokens for another owner (${owner})`);
    const wanted = req.scopes ? [...new Set(req.scopes)] : undefined;
    if (wanted?.includes('admin') && !isAdmin(creator))
      throw new TokenError('forbidden', 'only an administrator may create a token with the admin scope');
    const beyond = (wanted ?? []).filter((s) => s !== 'admin' && !hasScope(creator, s));
    if (beyond.length) throw new TokenError('forbidden', `scopes beyond your own: ${beyond.join(', ')}`);
    // Unlimited by default only when the creator is: a limited token creates tokens limited the same way.
    const inherited = creator.kind === 'user' && owner === self ? creator.scopes : undefined;
    const limits = wanted ?? (inherited ? [...inherited] : undefined);
    return this.insert({
      owner,
      name: req.name,
      scopes: limits,
      createdBy: self ?? 'platform',
      expiresAt: req.expires_in_days
        ? new Date(Date.now() + req.expires_in_days * 86_400_000).toISOString()
        : undefined,
    });
  }

  /** Stores a new token (no checks: `create` is the checked way; the first start's admin token comes here). */
  async insert(t: {
    owner: string;
    name: string;
    scopes?: readonly Scope[];
    createdBy: string;
    expiresAt?: string;
  }): Promise<{ token: string; info: TokenInfo }> {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: Selectable<AuthTokensTable> = {
      id: randomBytes(8).toString('hex'),
      owner: t.owner,
      name: t.name,
      hash: sha256(token),
      scopes_json: t.scopes ? JSON.stringify(t.scopes) : null,
      created_by: t.createdBy,
      created_at: now(),
      expires_at: t.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
    };
    await this.db.insertInto('auth_tokens').values(row).execute();
    return { token, info: toInfo(row) };
  }

  /** The caller's own tokens, newest first; an administrator sees everyone's. */
  async list(caller: Caller): Promise<TokenInfo[]> {
    let q = this.db.selectFrom('auth_tokens').selectAll().orderBy('created_at', 'desc').orderBy('id');
    if (!isAdmin(caller)) {
      if (caller.kind !== 'user') return [];
      q = q.where('owner', '=', caller.owner);
    }
    return (await q.execute()).map(toInfo);
  }

  /** Revokes one of the caller's tokens (an administrator: anyone's). Someone else's reads as not found. */
  async revoke(caller: Caller, id: string): Promise<TokenInfo> {
    if (caller.kind === 'user' && !hasScope(caller, 'tokens:write'))
      throw new TokenError('forbidden', 'the token lacks the tokens:write scope');
    const row = await this.db.selectFrom('auth_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    const mine = row && (isAdmin(caller) || (caller.kind === 'user' && caller.owner === row.owner));
    if (!row || !mine) throw new TokenError('not_found', `token ${id} does not exist`);
    if (row.revoked_at) return toInfo(row);
    const revokedAt = now();
    await this.db.updateTable('auth_tokens').set({ revoked_at: revokedAt }).where('id', '=', id).execute();
    return toInfo({ ...row, revoked_at: revokedAt });
  }

  async resolve(credentials: Credentials): Promise<Resolution> {
    const bearer = parseBearer(credentials.authorization);
    const basic = bearer === undefined ? parseBasic(credentials.authorization) : undefined;
    const token = bearer ?? basic?.password;
    if (!token?.startsWith(TOKEN_PREFIX)) return undefined;
    const hash = sha256(token);
    const row = await this.db.selectFrom('auth_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    // The index finds the row; the comparison itself is constant-time all the same.
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex')))
      return { refused: 'the token is not valid on this server' };
    if (row.revoked_at) return { refused: `the token "${row.name}" was revoked at ${row.revoked_at}` };
    if (row.expires_at && Date.parse(row.expires_at) <= Date.now())
      return { refused: `the token "${row.name}" expired at ${row.expires_at}` };
    if (basic && basic.user !== row.owner)
      return { refused: `the token belongs to ${row.owner}, not ${basic.user}: log in as ${row.owner}` };
    await this.touch(row);
    return { caller: this.callerOf(row) };
  }

  private callerOf(row: Selectable<AuthTokensTable>): UserCaller {
    const limits = row.scopes_json ? (JSON.parse(row.scopes_json) as Scope[]) : undefined;
    const admin = this.admins.has(row.owner) || limits?.includes('admin') === true;
    return userCaller(row.owner, { ...(admin ? { admin } : {}), ...(limits ? { scopes: limits } : {}) });
  }

  private async touch(row: Selectable<AuthTokensTable>): Promise<void> {
    if (row.last_used_at && Date.now() - Date.parse(row.last_used_at) < LAST_USED_EVERY_MS) return;
    await this.db.updateTable('auth_tokens').set({ last_used_at: now() }).where('id', '=', row.id).execute();
  }
}

function toInfo(r: Selectable<AuthTokensTable>): TokenInfo {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    ...(r.scopes_json ? { scopes: JSON.parse(r.scopes_json) as string[] } : {}),
    created_by: r.created_by,
    created_at: r.created_at,
    ...(r.expires_at ? { expires_at: r.expires_at } : {}),
    ...(r.revoked_at ? { revoked_at: r.revoked_at } : {}),
    ...(r.last_used_at ? { last_used_at: r.last_used_at } : {}),
  };
}
