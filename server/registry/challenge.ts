import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';

/** The `service` of the registry's token flow (the audience of its tokens). */
export const REGISTRY_SERVICE = 'aibomgen';
/** Where registry clients fetch a token (server/auth/token-endpoint.ts). */
export const TOKEN_PATH = '/token';
/** The realm as `authorize()` writes it: it knows no request, so the HTTP edge makes it absolute (below). */
const RELATIVE_REALM = `realm="${TOKEN_PATH}"`;

/**
 * The Docker token-auth challenge of a refused anonymous request: oras, docker, skopeo and cosign fetch a token
 * for `scope` at the realm (with the credentials of their login) and retry with it. A push asks for pull too, as
 * clients expect (they check which blobs exist before uploading).
 */
export function bearerChallenge(repo: string, action: 'pull' | 'push' | 'delete'): Record<string, string> {
  const actions = action === 'push' ? 'pull,push' : action;
  const scope = repo ? `,scope="repository:${repo}:${actions}"` : '';
  return { 'WWW-Authenticate': `Bearer ${RELATIVE_REALM},service="${REGISTRY_SERVICE}"${scope}` };
}

/**
 * Makes the realm of a /v2/ challenge absolute: AIBOMGEN_PUBLIC_URL when set, else the origin this request
 * reached (clients must be able to resolve it, whatever address the server listens on). Mount before /v2/.
 */
export function absoluteRealm(publicUrl: string | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const challenge = c.res.headers.get('www-authenticate');
    if (!challenge?.includes(RELATIVE_REALM)) return;
    const base = (publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
    c.res.headers.set('www-authenticate', challenge.replace(RELATIVE_REALM, `realm="${base}${TOKEN_PATH}"`));
  };
}
