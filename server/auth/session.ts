/**
 * The dashboard's sign-in session. The cookie holds only a random 256-bit id; the session itself (owner,
 * admin flag, expiry) is a row of `auth_sessions` keyed by the id's SHA-256. A table rather than a signed or
 * encrypted cookie because a session must end when the user signs out (or an administrator deletes the row):
 * a self-contained cookie stays valid until it expires, wherever a copy of it went.
 *
 * Cookies are ambient credentials, so `sessionCsrfGuard` refuses a state-changing request that the cookie
 * would authenticate unless the browser says it comes from this origin (Origin / Sec-Fetch-Site).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { parse } from 'hono/utils/cookie';
import type { AppEnv } from '../context.ts';
import type { Db } from '../db/connect.ts';
import { userCaller } from '../identity.ts';
import type { CredentialResolver, Credentials, Resolution } from './resolver.ts';

/** `__Host-` (https only): the browser then refuses it unless Secure, Path=/ and host-only (no Domain). */
export const SESSION_COOKIE_SECURE = '__Host-aibomgen_session';
export const SESSION_COOKIE = 'aibomgen_session';
const SESSION_TTL_MS = 8 * 3600 * 1000;

const hash = (id: string) => createHash('sha256').update(id).digest('hex');

/** The session id a Cookie header carries, if any. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const jar = parse(cookieHeader);
  return jar[SESSION_COOKIE_SECURE] ?? jar[SESSION_COOKIE];
}

/** Whether the browser reached us over https: the request itself, or the public URL a TLS proxy serves. */
export function isHttps(c: Context, publicUrl: string | undefined): boolean {
  return new URL(c.req.url).protocol === 'https:' || (publicUrl?.startsWith('https:') ?? false);
}

export class SessionStore {
  constructor(private readonly db: Db) {}

  /** Creates a session and returns the cookie value (its id); ended sessions are swept on the way. */
  async create(s: { owner: string; admin: boolean; issuer: string; subject: string }): Promise<string> {
    const now = new Date();
    await this.db.deleteFrom('auth_sessions').where('expires_at', '<', now.toISOString()).execute();
    const id = randomBytes(32).toString('base64url');
    await this.db
      .insertInto('auth_sessions')
      .values({
        id_hash: hash(id),
        owner: s.owner,
        admin: s.admin ? 1 : 0,
        issuer: s.issuer,
        subject: s.subject,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
      })
      .execute();
    return id;
  }

  async get(id: string): Promise<{ owner: string; admin: boolean; expiresAt: string } | undefined> {
    const row = await this.db
      .selectFrom('auth_sessions')
      .select(['owner', 'admin', 'expires_at'])
      .where('id_hash', '=', hash(id))
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at < new Date().toISOString()) {
      await this.end(id);
      return undefined;
    }
    return { owner: row.owner, admin: row.admin === 1, expiresAt: row.expires_at };
  }

  async end(id: string): Promise<void> {
    await this.db.deleteFrom('auth_sessions').where('id_hash', '=', hash(id)).execute();
  }

  /** Sets the session cookie: HttpOnly (no script reads it), SameSite=Lax, Secure and `__Host-` over https. */
  setCookie(c: Context, id: string, publicUrl: string | undefined): void {
    const secure = isHttps(c, publicUrl);
    setCookie(c, secure ? SESSION_COOKIE_SECURE : SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: 'Lax',
      secure,
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });
  }

  clearCookie(c: Context, publicUrl: string | undefined): void {
    const secure = isHttps(c, publicUrl);
    deleteCookie(c, secure ? SESSION_COOKIE_SECURE : SESSION_COOKIE, { path: '/', secure, httpOnly: true });
  }
}

/**
 * The session cookie as a caller. An unknown or ended session is refused with its reason (REST and GraphQL
 * answer 401 with it, the dashboard then shows its sign-in page; public pages still load).
 */
export class SessionResolver implements CredentialResolver {
  readonly name = 'session';
  constructor(
    private readonly sessions: SessionStore,
    private readonly admins: readonly string[] = [],
  ) {}

  async resolve({ cookie, authorization }: Credentials): Promise<Resolution> {
    const id = sessionIdOf(cookie);
    // An Authorization header speaks for the request, whatever cookie rides along; and so the cookie authenticates
    // exactly the requests `sessionCsrfGuard` checks.
    if (!id || authorization) return undefined;
    const s = await this.sessions.get(id);
    if (!s) return { refused: 'the sign-in session has ended or is unknown: sign in again' };
    const admin = s.admin || this.admins.includes(s.owner);
    return { caller: userCaller(s.owner, admin ? { admin: true } : {}) };
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for cookie-authenticated requests: a state-changing request that carries the session cookie and
 * no Authorization header (so the cookie is what authenticates it) must say, through the headers a browser
 * sets itself and a page cannot forge, that it comes from this origin. SameSite alone is not enough: another
 * port of the same host is the same site, and an old browser may ignore the attribute.
 */
export function sessionCsrfGuard(publicUrl: string | undefined): MiddlewareHandler<AppEnv> {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : undefined;
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || c.req.header('authorization') || !sessionIdOf(c.req.header('cookie')))
      return next();
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    const self = new URL(c.req.url).origin;
    const why =
      site !== undefined && site !== 'same-origin' && site !== 'none'
        ? `Sec-Fetch-Site is ${site}`
        : origin === undefined
          ? 'it carries no Origin header'
          : origin !== self && origin !== publicOrigin
            ? `its Origin ${origin} is not this server`
            : undefined;
    if (!why) return next();
    return c.json(
      {
        error: 'forbidden',
        detail: `cross-origin request refused: the session cookie authenticates only requests from this server's own pages (${why})`,
      },
      403,
    );
  };
}
