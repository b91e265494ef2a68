/**
 * A small but real OpenID Connect issuer on loopback for the auth tests (Dex could not be installed here: the
 * Go module proxy serves no dex v2.x module). It serves discovery, a JWKS that can rotate (a second key is
 * published later and becomes the signing key), `/authorize` (consents at once as `nextUser`, redirects back
 * with a one-time code) and `/token` (authorization_code grant; checks the client, the redirect URI and the PKCE
 * S256 verifier, then answers an ID token and a JWT access token signed with the current key).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface IssuerUser {
  sub: string;
  preferred_username?: string;
  groups?: string[];
}

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  user: IssuerUser;
}

export interface OidcIssuer {
  /** The issuer identifier (http://127.0.0.1:<port>), also its base URL. */
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The user `/authorize` signs in as next. */
  nextUser: IssuerUser;
  /** The client's registered redirect URIs (exact match, as real issuers do); empty: any. */
  redirectUris: string[];
  /** Requests seen, by path (e.g. how often the JWKS was fetched). */
  readonly hits: Map<string, number>;
  /** The query of every `/authorize` request, oldest first. */
  readonly authorizeRequests: URLSearchParams[];
  /** What `/token` refused, newest last (a test reads why an exchange failed). */
  readonly tokenErrors: string[];
  /** The current signing key's kid and its public key as SPKI PEM (the HS256 confusion attack signs with it). */
  currentKid(): string;
  publicKeyPem(): Promise<string>;
  /** A JWT signed with the current key: iss, aud, iat, exp (5 min), sub and preferred_username filled in. */
  token(claims?: JWTPayload, opts?: { audience?: string | string[]; kid?: string }): Promise<string>;
  /** Publishes a new ES256 key beside the old one and signs with it from now on; returns its kid. */
  rotate(): Promise<string>;
  close(): Promise<void>;
}

async function newKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startOidcIssuer(
  opts: { audience?: string; clientId?: string; clientSecret?: string; user?: IssuerUser } = {},
): Promise<OidcIssuer> {
  const clientId = opts.clientId ?? 'aibomgen-dashboard';
  const clientSecret = opts.clientSecret ?? randomBytes(16).toString('hex');
  const audience = opts.audience ?? 'aibomgen';
  const keys: SigningKey[] = [await newKey('key-1', 'RS256')];
  const codes = new Map<string, PendingCode>();
  const hits = new Map<string, number>();
  const tokenErrors: string[] = [];
  const authorizeRequests: URLSearchParams[] = [];
  let url = '';

  const current = (): SigningKey => keys.at(-1)!;
  const sign = async (claims: JWTPayload, aud: string | string[], kid?: string): Promise<string> => {
    const k = current();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: 'alice-sub', preferred_username: 'alice', ...claims })
      .setProtectedHeader({ alg: k.alg, kid: kid ?? k.kid, typ: 'JWT' })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : url)
      .setAudience(claims.aud ?? aud)
      .setIssuedAt(claims.iat ?? now)
      .setExpirationTime(claims.exp ?? now + 300)
      .sign(k.privateKey);
  };

  const issuer: OidcIssuer = {
    get url() {
      return url;
    },
    clientId,
    clientSecret,
    nextUser: opts.user ?? { sub: 'alice-sub', preferred_username: 'alice' },
    redirectUris: [],
    hits,
    authorizeRequests,
    tokenErrors,
    currentKid: () => current().kid,
    publicKeyPem: () => exportSPKI(keys[0]!.publicKey),
    token: (claims = {}, o = {}) => sign(claims, o.audience ?? audience, o.kid),
    async rotate() {
      const k = await newKey(`key-${keys.length + 1}`, 'ES256');
      keys.push(k);
      return k.kid;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', url);
    hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(value));
    };
    void (async () => {
      if (u.pathname === '/.well-known/openid-configuration')
        return json(200, {
          issuer: url,
          authorization_endpoint: `${url}/authorize`,
          token_endpoint: `${url}/token`,
          jwks_uri: `${url}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
          code_challenge_methods_supported: ['S256'],
          grant_types_supported: ['authorization_code'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          scopes_supported: ['openid', 'profile', 'groups'],
        });
      if (u.pathname === '/jwks') return json(200, { keys: keys.map((k) => k.jwk) });
      if (u.pathname === '/authorize') {
        const q = u.searchParams;
        authorizeRequests.push(new URLSearchParams(q));
        const redirectUri = q.get('redirect_uri') ?? '';
        if (q.get('client_id') !== clientId) return json(400, { error: 'invalid_client' });
        if (issuer.redirectUris.length && !issuer.redirectUris.includes(redirectUri))
          return json(400, { error: 'invalid_request', error_description: `unregistered redirect_uri ${redirectUri}` });
        if (q.get('response_type') !== 'code' || !q.get('scope')?.split(' ').includes('openid'))
          return json(400, { error: 'invalid_request', error_description: 'response_type=code and scope openid' });
        if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge'))
          return json(400, { error: 'invalid_request', error_description: 'PKCE S256 is required' });
        const code = randomBytes(16).toString('base64url');
        codes.set(code, {
          clientId,
          redirectUri,
          challenge: q.get('code_challenge')!,
          nonce: q.get('nonce') ?? undefined,
          user: issuer.nextUser,
        });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        if (q.get('state')) back.searchParams.set('state', q.get('state')!);
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      if (u.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await body(req));
        const fail = (error: string, why: string) => {
          tokenErrors.push(why);
          return json(400, { error, error_description: why });
        };
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        const [id, secret] = basic
          ? Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent)
          : [form.get('client_id'), form.get('client_secret')];
        if (id !== clientId || secret !== clientSecret) return fail('invalid_client', 'client authentication failed');
        if (form.get('grant_type') !== 'authorization_code') return fail('unsupported_grant_type', 'code only');
        const pending = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? ''); // one use, even when refused
        if (!pending) return fail('invalid_grant', 'unknown or used code');
        if (form.get('redirect_uri') !== pending.redirectUri) return fail('invalid_grant', 'redirect_uri differs');
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge)
          return fail('invalid_grant', 'PKCE verification failed');
        const user = { ...pending.user };
        return json(200, {
          token_type: 'Bearer',
          expires_in: 300,
          access_token: await sign({ ...user }, audience),
          id_token: await sign({ ...user, ...(pending.nonce ? { nonce: pending.nonce } : {}) }, pending.clientId),
        });
      }
      json(404, { error: 'not_found' });
    })().catch((e: unknown) => json(500, { error: 'server_error', error_description: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return issuer;
}
