import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { type CreatedToken, CreateTokenRequest, type TokenList } from '../../schema/tokens.ts';
import { HttpError } from '../api-error.ts';
import type { AppEnv, Routes } from '../context.ts';
import type { Caller } from '../identity.ts';
import { absoluteRealm, bearerChallenge, TOKEN_PATH } from '../registry/challenge.ts';
import type { Auth } from './auth.ts';
import { mountTokenEndpoint, type TokenEndpointDeps } from './token-endpoint.ts';
import { TokenError } from './tokens.ts';

export interface AuthRoutesDeps {
  auth: Auth;
  registry: TokenEndpointDeps['registry'];
  log: Logger;
  publicUrl?: string;
}

const tokenStatus = { bad_request: 400, forbidden: 403, not_found: 404 } as const;

export function tokenHttpError(e: TokenError): HttpError {
  return new HttpError(tokenStatus[e.code], e.code, e.message);
}

/**
 * The credentials surface: `/token` (the registry's token flow), `/developer/tokens` (managed API tokens) and the
 * absolute realm of /v2/'s challenges. Mount before /v2/ (the realm middleware must wrap its routes).
 */
export function authRoutes(d: AuthRoutesDeps): Routes {
  return {
    mount(app) {
      app.use('/v2/*', absoluteRealm(d.publicUrl));
      app.use('/v2', versionCheck(d.auth)); // exactly /v2 and /v2/ (Hono's strict: false)
      mountTokenEndpoint(app, d);
      mountTokenRoutes(app, d.auth);
    },
  };
}

/**
 * `GET /v2/` (the API version check) answers an anonymous caller 401 with the Bearer challenge whenever auth is on,
 * even where anonymous pulls are open: it is where docker, skopeo and cosign learn the token realm, and a client
 * that saw 200 there never authenticates later, so its pushes would fail. Anonymous pulls still work: these clients
 * fetch an anonymous token from the realm; oras and plain HTTP clients never ask /v2/ at all.
 */
function versionCheck(auth: Auth): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!auth.enabled || c.get('caller').kind !== 'anonymous' || !['GET', 'HEAD'].includes(c.req.method)) return next();
    const message =
      c.get('authProblem') ??
      `authentication required: get a token at ${TOKEN_PATH} (anonymous pulls need no credentials), or log in with <owner> and an API token`;
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    return c.json({ errors: [{ code: 'UNAUTHORIZED', message }] }, 401, bearerChallenge('', 'pull'));
  };
}

/** `POST|GET /developer/tokens`, `DELETE /developer/tokens/:id`: a user's own tokens (an administrator: all). */
export function mountTokenRoutes(app: Hono<AppEnv>, auth: Auth): void {
  const caller = (c: Context<AppEnv>): Caller => {
    const who = auth.requireUser(c);
    if (!auth.enabled)
      throw new HttpError(
        409,
        'auth_off',
        'authentication is off on this server (AIBOMGEN_AUTH=off): API tokens are neither needed nor checked',
      );
    return who;
  };
  const edge =
    (h: (c: Context<AppEnv>) => Promise<Response>) =>
    async (c: Context<AppEnv>): Promise<Response> => {
      try {
        return await h(c);
      } catch (e) {
        throw e instanceof TokenError ? tokenHttpError(e) : e;
      }
    };

  app.post(
    '/developer/tokens',
    edge(async (c) => {
      const who = caller(c);
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        throw new HttpError(
          400,
          'invalid_request',
          'the body must be a JSON object: {name, scopes?, expires_in_days?}',
        );
      }
      const req = CreateTokenRequest.safeParse(raw);
      if (!req.success)
        throw new HttpError(
          400,
          'invalid_request',
          `invalid token request: ${req.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
          req.error.issues.map((i) => ({ field: i.path.join('.') || 'body', message: i.message })),
        );
      const { token, info } = await auth.tokens.create(who, req.data);
      const body: CreatedToken = { ...info, token };
      c.header('Cache-Control', 'no-store');
      return c.json(body, 201);
    }),
  );

  app.get(
    '/developer/tokens',
    edge(async (c) => {
      const body: TokenList = { items: await auth.tokens.list(caller(c)) };
      return c.json(body);
    }),
  );

  app.delete(
    '/developer/tokens/:id',
    edge(async (c) => c.json(await auth.tokens.revoke(caller(c), c.req.param('id') ?? ''))),
  );
}
