/**
 * OIDC bearer tokens (AIBOMGEN_OIDC_ISSUER): a JWT is checked with `jose` against the issuer's discovery
 * document and its JWKS (createRemoteJWKSet caches the keys and fetches them again when a token names a `kid`
 * it does not know, which is how a rotated key is picked up). Checked: the signature with an allowed asymmetric
 * algorithm only, iss, aud, exp and nbf (30 s of clock tolerance). The owner and admin flag come from the claims.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import type { Config } from '../config.ts';
import { userCaller } from '../identity.ts';
import type { CredentialResolver, Credentials, Resolution } from './resolver.ts';

export type OidcConfig = Pick<
  Config,
  | 'oidcIssuer'
  | 'oidcAudience'
  | 'oidcClientId'
  | 'oidcOwnerClaim'
  | 'oidcAdminGroup'
  | 'oidcAlgorithms'
  | 'oidcJwksCooldownSeconds'
  | 'admins'
>;

const CLOCK_TOLERANCE_S = 30;
const FETCH_TIMEOUT_MS = 5000;
/** An owner becomes the namespace `<owner>/…`, so it must be one OCI repository path component. */
const OWNER_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * The accepted JWS algorithms. `none` and the HMAC family are refused outright, whatever the configuration says:
 * an HMAC "signature" made with the issuer's public key as the secret is the classic key-confusion forgery.
 */
export function allowedAlgorithms(list: string): string[] {
  const algs = list
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const bad = algs.filter((a) => a.toLowerCase() === 'none' || /^HS/i.test(a));
  if (bad.length)
    throw new Error(`AIBOMGEN_OIDC_ALGORITHMS must not name ${bad.join(', ')}: only asymmetric algorithms`);
  if (!algs.length) throw new Error('AIBOMGEN_OIDC_ALGORITHMS is empty');
  return algs;
}

/** Tokens travel to and from the issuer: https, or http on loopback only (development, the tests). */
export function checkIssuerUrl(issuer: string): URL {
  const u = new URL(issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback))
    throw new Error(`AIBOMGEN_OIDC_ISSUER must be an https URL (http only on loopback): ${issuer}`);
  return u;
}

/** The audience bearer tokens must name: AIBOMGEN_OIDC_AUDIENCE, else the dashboard's client id. */
export function expectedAudience(c: OidcConfig): string {
  const aud = c.oidcAudience ?? c.oidcClientId;
  // Without an audience, a token the issuer minted for any other application would be accepted here.
  if (!aud) throw new Error('AIBOMGEN_OIDC_ISSUER needs AIBOMGEN_OIDC_AUDIENCE (or AIBOMGEN_OIDC_CLIENT_ID)');
  return aud;
}

/**
 * Who the claims say the caller is: the owner claim (AIBOMGEN_OIDC_OWNER_CLAIM, else `sub`) and the admin flag
 * (the `groups` claim holds AIBOMGEN_OIDC_ADMIN_GROUP, or the owner is in AIBOMGEN_ADMINS).
 */
export function identityFromClaims(
  claims: JWTPayload,
  c: OidcConfig,
): { owner: string; admin: boolean } | { refused: string } {
  const named = claims[c.oidcOwnerClaim];
  const [claim, value] = typeof named === 'string' && named ? [c.oidcOwnerClaim, named] : ['sub', claims.sub];
  if (typeof value !== 'string' || !value) return { refused: `the token has no ${c.oidcOwnerClaim} or sub claim` };
  if (value.length > 64 || !OWNER_RE.test(value))
    return {
      refused: `the ${claim} claim "${value.slice(0, 80)}" is not usable as an owner name (lower-case letters and digits, with . _ - between them, at most 64): choose another claim with AIBOMGEN_OIDC_OWNER_CLAIM`,
    };
  const groups = Array.isArray(claims.groups) ? claims.groups : [];
  const admins = (c.admins ?? '').split(',').map((a) => a.trim());
  const admin = (c.oidcAdminGroup !== undefined && groups.includes(c.oidcAdminGroup)) || admins.includes(value);
  return { owner: value, admin };
}

type Discovered = { jwks: ReturnType<typeof createRemoteJWKSet> };

/**
 * The `CredentialResolver` of OIDC bearer tokens. It claims every `Bearer` JWT that no resolver before it
 * claimed (so it belongs after the resolvers of the platform's own tokens): one whose `iss` is the configured
 * issuer is verified; any other JWT is refused as "wrong issuer", which tells its sender what went wrong.
 */
export class OidcBearerResolver implements CredentialResolver {
  readonly name = 'oidc';
  readonly issuer: string;
  private readonly audience: string;
  private readonly algorithms: string[];
  private discovered?: Promise<Discovered>;

  constructor(private readonly config: OidcConfig & { oidcIssuer: string }) {
    this.issuer = config.oidcIssuer;
    checkIssuerUrl(this.issuer);
    this.audience = expectedAudience(config);
    this.algorithms = allowedAlgorithms(config.oidcAlgorithms);
  }

  async resolve({ authorization }: Credentials): Promise<Resolution> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m || !JWT_SHAPE.test(m[1]!)) return undefined;
    const token = m[1]!;
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      return undefined; // three base64url parts but not a JWT: someone else's token format
    }
    if (claims.iss !== this.issuer)
      return {
        refused: `wrong issuer: the token's iss is ${JSON.stringify(claims.iss)}, this server accepts ${this.issuer}`,
      };
    // Checked before any key is looked up, so `none` and HS256 never reach a verifier.
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg))
      return {
        refused: `alg not allowed: ${JSON.stringify(header.alg)} (this server accepts ${this.algorithms.join(', ')})`,
      };
    let jwks: Discovered['jwks'];
    try {
      jwks = (await this.discover()).jwks;
    } catch (e) {
      return { refused: `the issuer ${this.issuer} could not be asked for its keys: ${(e as Error).message}` };
    }
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: this.algorithms,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      });
      const who = identityFromClaims(payload, this.config);
      return 'refused' in who ? who : { caller: userCaller(who.owner, who.admin ? { admin: true } : {}) };
    } catch (e) {
      return { refused: this.reason(e, header, claims) };
    }
  }

  /** One sentence naming what is wrong with the token. */
  private reason(e: unknown, header: ProtectedHeaderParameters, claims: JWTPayload): string {
    const at = (s: unknown) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : String(s));
    if (e instanceof errors.JWTExpired) return `expired: the token expired at ${at(claims.exp)}`;
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === 'nbf') return `not yet valid: the token is valid from ${at(claims.nbf)}`;
      if (e.claim === 'aud')
        return `wrong audience: the token is for ${JSON.stringify(claims.aud)}, this server is ${JSON.stringify(this.audience)}`;
      if (e.claim === 'iss') return `wrong issuer: the token's iss is ${JSON.stringify(claims.iss)}`;
      if (e.claim === 'exp') return 'the token has no exp claim (tokens that never expire are refused)';
      return `the token's ${e.claim} claim is not valid: ${e.message}`;
    }
    if (e instanceof errors.JOSEAlgNotAllowed) return `alg not allowed: ${JSON.stringify(header.alg)}`;
    if (e instanceof errors.JWKSNoMatchingKey)
      return `unknown key: the issuer publishes no ${header.alg} key with kid ${JSON.stringify(header.kid)}`;
    if (e instanceof errors.JWKSMultipleMatchingKeys)
      return 'unknown key: the token names no kid and the issuer publishes several keys';
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return 'bad signature: the token was not signed by the issuer';
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid)
      return `the issuer's keys could not be read: ${(e as Error).message}`;
    return `the token is not valid: ${(e as Error).message}`;
  }

  /** The discovery document, once; a failure is not kept, so the next request asks again. */
  private discover(): Promise<Discovered> {
    this.discovered ??= this.fetchDiscovery().catch((e: unknown) => {
      this.discovered = undefined;
      throw e;
    });
    return this.discovered;
  }

  private async fetchDiscovery(): Promise<Discovered> {
    const url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // OIDC Discovery 1.0 §4.3: the document's issuer must be exactly the one asked for.
    if (doc.issuer !== this.issuer) throw new Error(`${url} names issuer ${JSON.stringify(doc.issuer)}`);
    if (typeof doc.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
    const jwksUri = new URL(doc.jwks_uri);
    if (jwksUri.protocol !== 'https:') checkIssuerUrl(jwksUri.href);
    return {
      jwks: createRemoteJWKSet(jwksUri, {
        cooldownDuration: this.config.oidcJwksCooldownSeconds * 1000,
        timeoutDuration: FETCH_TIMEOUT_MS,
      }),
    };
  }
}
