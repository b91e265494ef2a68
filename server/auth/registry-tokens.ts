import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';
import { ANONYMOUS, type Caller, type RegistryGrant, type Scope, userCaller } from '../identity.ts';
import { REGISTRY_SERVICE } from '../registry/challenge.ts';
import { parseBearer } from './credentials.ts';
import type { CredentialResolver, Credentials, Resolution } from './resolver.ts';

/** The secret that signs registry tokens, next to the platform's keys (shared by every API node). */
export const REGISTRY_TOKEN_KEY_FILE = 'registry-token.key';
/** Seconds a registry token lives; clients fetch a new one when it runs out (as with distribution's 5 minutes). */
export const REGISTRY_TOKEN_SECONDS = 300;
const ISSUER = 'aibomgen';

interface Claims {
  /** Docker's token format: what the bearer may do, per repository. */
  access: { type: 'repository'; name: string; actions: RegistryGrant['actions'] }[];
  /** The owner's administrator flag and token scopes, so /v2/ applies the same rules /token did. */
  adm?: boolean;
  scp?: Scope[];
}

/**
 * The short-lived tokens of the registry's token flow (`/token`, the Docker token spec): a JWT naming the owner
 * and the repositories and actions it was granted. HS256 with a secret of our own: this server both issues and
 * checks them (every API node reads the same keys directory) and nobody else needs to, so a symmetric key is
 * the simplest sound choice — no key pair to publish or rotate in step.
 */
export class RegistryTokens implements CredentialResolver {
  readonly name = 'registry-token';

  private constructor(private readonly secret: Uint8Array) {}

  /** Reads the secret from `keysDir`, making it (0600) on first start. */
  static open(keysDir: string): RegistryTokens {
    const file = join(keysDir, REGISTRY_TOKEN_KEY_FILE);
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    try {
      // 'wx': two nodes starting together on one keys directory keep whichever secret was written first.
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new Error(
          `cannot create the registry token secret ${file} (${code}): on a read-only keys directory, put 32 random bytes there first (head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')`,
        );
    }
    const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
    if (secret.length < 32) throw new Error(`${file} holds fewer than 32 bytes of secret: delete it to make a new one`);
    return new RegistryTokens(secret);
  }

  /** A token for `caller` (anonymous: an anonymous token, whose grants the access check ignores). */
  async issue(
    caller: Caller,
    grants: readonly RegistryGrant[],
  ): Promise<{ token: string; expires_in: number; issued_at: string }> {
    const issuedAt = Math.floor(Date.now() / 1000);
    const claims: Claims = {
      access: grants.map((g) => ({ type: 'repository', name: g.repository, actions: g.actions })),
      ...(caller.kind === 'user' && caller.admin ? { adm: true } : {}),
      ...(caller.kind === 'user' && caller.scopes ? { scp: [...caller.scopes] } : {}),
    };
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(REGISTRY_SERVICE)
      .setSubject(caller.kind === 'user' ? caller.owner : '')
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt - 5)
      .setExpirationTime(issuedAt + REGISTRY_TOKEN_SECONDS)
      .setJti(randomBytes(8).toString('hex'))
      .sign(this.secret);
    return { token, expires_in: REGISTRY_TOKEN_SECONDS, issued_at: new Date(issuedAt * 1000).toISOString() };
  }

  async resolve(credentials: Credentials): Promise<Resolution> {
    const token = parseBearer(credentials.authorization);
    if (token?.split('.').length !== 3) return undefined;
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return undefined;
    }
    // Someone else's JWT (an OIDC provider's): not ours to judge.
    if (issuer !== ISSUER) return undefined;
    try {
      const { payload } = await jwtVerify<Claims>(token, this.secret, {
        issuer: ISSUER,
        audience: REGISTRY_SERVICE,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      if (!payload.sub) return { caller: ANONYMOUS };
      const registryGrants = (payload.access ?? [])
        .filter((a) => a.type === 'repository')
        .map((a) => ({ repository: a.name, actions: a.actions }));
      return {
        caller: userCaller(payload.sub, {
          ...(payload.adm ? { admin: true } : {}),
          ...(payload.scp ? { scopes: payload.scp } : {}),
          registryGrants,
        }),
      };
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { refused: 'the registry token expired: log in again' };
      return { refused: 'the registry token is not valid on this server' };
    }
  }
}
