/**
 * The dashboard's OIDC sign-in (authorization code + PKCE S256, openid-client v6), when AIBOMGEN_OIDC_ISSUER and
 * AIBOMGEN_OIDC_CLIENT_ID are set:
 *   GET  /auth/config    whether OIDC sign-in is on, the issuer, and who the caller is (the dashboard asks)
 *   GET  /auth/login     → the issuer's authorization endpoint, with state, nonce and code_challenge
 *   GET  /auth/callback  the issuer's redirect: code exchange, ID token checks, a server-side session cookie
 *   POST /auth/logout    ends the session
 * The pending sign-in (PKCE verifier, nonce) waits in `auth_logins`, keyed by `state`; a short-lived HttpOnly
 * cookie binds that state to the browser that started it, so a callback URL made in another browser (login CSRF)
 * is refused.
 */
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { AppEnv, Routes } from '../context.ts';
import type { Db } from '../db/connect.ts';
import { checkIssuerUrl, identityFromClaims, OidcBearerResolver } from './oidc.ts';
import type { CredentialResolver } from './resolver.ts';
import { isHttps, SessionResolver, SessionStore, sessionCsrfGuard, sessionIdOf } from './session.ts';

const LOGIN_COOKIE = 'aibomgen_login';
const LOGIN_TTL_S = 600;

export interface OidcRoutesDeps {
  config: Config;
  db: Db;
  log: Logger;
  /** Present when the dashboard may sign in with OIDC (issuer and client id configured). */
  sessions?: SessionStore;
}

type Fail = { status: 400 | 401 | 404 | 502; error: string; detail: string };
const fail = (c: Context<AppEnv>, f: Fail) => c.json({ error: f.error, detail: f.detail }, f.status);

/** The `/auth/*` routes and, when sessions exist, the CSRF guard in front of every route mounted after them. */
export function oidcRoutes(d: OidcRoutesDeps): Routes {
  const { config, db, log, sessions } = d;
  const issuer = config.oidcIssuer;
  const clientId = config.oidcClientId;
  const enabled = Boolean(issuer && clientId && sessions);
  let discovered: Promise<client.Configuration> | undefined;
  const discover = (): Promise<client.Configuration> => {
    discovered ??= (async () => {
      const url = checkIssuerUrl(issuer!);
      const secret = config.oidcClientSecret;
      return client.discovery(url, clientId!, secret, secret ? client.ClientSecretBasic(secret) : client.None(), {
        // http is accepted only for a loopback issuer (checkIssuerUrl), e.g. a development one.
        execute: url.protocol === 'http:' ? [client.allowInsecureRequests] : [],
      });
    })().catch((e: unknown) => {
      discovered = undefined; // ask again on the next sign-in
      throw e;
    });
    return discovered;
  };
  const base = (c: Context<AppEnv>) => (config.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, '');
  const redirectUri = (c: Context<AppEnv>) => `${base(c)}/auth/callback`;
  const notConfigured: Fail = {
    status: 404,
    error: 'not_found',
    detail: 'OIDC sign-in is not configured on this server (AIBOMGEN_OIDC_ISSUER and AIBOMGEN_OIDC_CLIENT_ID)',
  };

  return {
    mount(app: Hono<AppEnv>) {
      if (sessions) app.use('*', sessionCsrfGuard(config.publicUrl));

      app.get('/auth/config', (c) => {
        const caller = c.get('caller');
        return c.json({
          oidc: enabled,
          ...(enabled ? { issuer, login: '/auth/login' } : {}),
          caller: caller.kind === 'user' ? { owner: caller.owner, admin: caller.admin === true } : null,
        });
      });

      app.get('/auth/login', async (c) => {
        if (!enabled) return fail(c, notConfigured);
        let oidc: client.Configuration;
        try {
          oidc = await discover();
        } catch (e) {
          log.warn({ err: e, issuer }, 'oidc: discovery failed');
          return fail(c, { status: 502, error: 'bad_gateway', detail: `the issuer ${issuer} could not be reached` });
        }
        const next = c.req.query('next') ?? '';
        // A dashboard route only (redirected to as `/<route>`, so never off this origin).
        const returnTo = /^#\/\S{0,500}$/.test(next) && !next.startsWith('#/login') ? next : '#/jobs';
        const verifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const now = new Date();
        await db.deleteFrom('auth_logins').where('expires_at', '<', now.toISOString()).execute();
        await db
          .insertInto('auth_logins')
          .values({
            state,
            code_verifier: verifier,
            nonce,
            return_to: returnTo,
            expires_at: new Date(now.getTime() + LOGIN_TTL_S * 1000).toISOString(),
          })
          .execute();
        setCookie(c, LOGIN_COOKIE, state, {
          httpOnly: true,
          sameSite: 'Lax', // sent on the issuer's top-level redirect back to us
          secure: isHttps(c, config.publicUrl),
          path: '/auth/callback',
          maxAge: LOGIN_TTL_S,
        });
        const scope = ['openid', 'profile', ...(config.oidcAdminGroup ? ['groups'] : [])].join(' ');
        const url = client.buildAuthorizationUrl(oidc, {
          redirect_uri: redirectUri(c),
          scope,
          state,
          nonce,
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        return c.redirect(url.href, 302);
      });

      app.get('/auth/callback', async (c) => {
        if (!enabled || !sessions) return fail(c, notConfigured);
        const q = new URL(c.req.url).searchParams;
        const state = q.get('state') ?? '';
        const bound = getCookie(c, LOGIN_COOKIE);
        deleteCookie(c, LOGIN_COOKIE, { path: '/auth/callback' });
        if (q.get('error'))
          return fail(c, {
            status: 401,
            error: 'unauthorized',
            detail: `the issuer refused the sign-in: ${q.get('error')}${q.get('error_description') ? `: ${q.get('error_description')}` : ''}`,
          });
        if (!state || !bound || bound !== state)
          return fail(c, {
            status: 400,
            error: 'bad_request',
            detail:
              'this sign-in was not started in this browser (state does not match): start again from the dashboard',
          });
        const pending = await db.selectFrom('auth_logins').selectAll().where('state', '=', state).executeTakeFirst();
        // One use: whoever deletes the row owns the sign-in (a replayed callback finds nothing).
        const taken = await db.deleteFrom('auth_logins').where('state', '=', state).executeTakeFirst();
        if (!pending || taken.numDeletedRows !== 1n || pending.expires_at < new Date().toISOString())
          return fail(c, {
            status: 400,
            error: 'bad_request',
            detail: 'this sign-in has expired or was already used: start again from the dashboard',
          });
        let claims: client.IDToken | undefined;
        try {
          const current = new URL(redirectUri(c));
          current.search = q.toString();
          const tokens = await client.authorizationCodeGrant(
            await discover(),
            current,
            {
              pkceCodeVerifier: pending.code_verifier,
              expectedState: state,
              expectedNonce: pending.nonce,
              idTokenExpected: true,
            },
            { redirect_uri: redirectUri(c) },
          );
          claims = tokens.claims();
        } catch (e) {
          log.warn({ err: e }, 'oidc: code exchange failed');
          return fail(c, {
            status: 401,
            error: 'unauthorized',
            detail: `the sign-in could not be completed: ${(e as Error).message}`,
          });
        }
        if (!claims) return fail(c, { status: 401, error: 'unauthorized', detail: 'the issuer sent no ID token' });
        const who = identityFromClaims(claims, config);
        if ('refused' in who) return fail(c, { status: 401, error: 'unauthorized', detail: who.refused });
        const id = await sessions.create({ ...who, issuer: claims.iss, subject: claims.sub });
        sessions.setCookie(c, id, config.publicUrl);
        log.info({ owner: who.owner, admin: who.admin }, 'oidc: signed in');
        return c.redirect(`/${pending.return_to}`, 302);
      });

      app.post('/auth/logout', async (c) => {
        if (!sessions) return c.body(null, 204);
        const sid = sessionIdOf(c.req.header('cookie'));
        if (sid) await sessions.end(sid);
        sessions.clearCookie(c, config.publicUrl);
        return c.body(null, 204);
      });
    },
  };
}

/**
 * What compose needs for OIDC: the resolvers to append to the identify chain (after the platform's own token
 * resolvers: the bearer resolver claims every JWT left over) and the `/auth/*` routes (mounted first, so the CSRF
 * guard runs before every other route).
 */
export function createOidcArea(d: { config: Config; db: Db; log: Logger }): {
  resolvers: CredentialResolver[];
  routes: Routes;
} {
  const { config } = d;
  // With auth off nobody is asked who they are, so a session would be a sign-in that changes nothing.
  const sessions =
    config.oidcIssuer && config.oidcClientId && config.auth === 'on' ? new SessionStore(d.db) : undefined;
  const admins = (config.admins ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const resolvers: CredentialResolver[] = [];
  if (config.oidcIssuer) resolvers.push(new OidcBearerResolver({ ...config, oidcIssuer: config.oidcIssuer }));
  if (sessions) resolvers.push(new SessionResolver(sessions, admins));
  return { resolvers, routes: oidcRoutes({ ...d, sessions }) };
}
