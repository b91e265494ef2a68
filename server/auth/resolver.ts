import type { Caller } from '../identity.ts';

/** What a request presents as proof of who it is. */
export interface Credentials {
  /** The Authorization header (Bearer <token> or Basic base64(user:password)). */
  authorization?: string;
  /** The Cookie header (the dashboard's session). */
  cookie?: string;
}

/**
 * The answer of one kind of credential: a caller, a refusal with its reason (a token that is recognisably
 * this resolver's but expired, revoked, signed by an unknown key...), or `undefined` when the credentials are
 * not of this kind at all (the next resolver is asked).
 */
export type Resolution = { caller: Caller } | { refused: string } | undefined;

/**
 * One way to authenticate: static tokens (AIBOMGEN_TOKENS), managed API tokens, the registry's short-lived
 * tokens (/token), OIDC bearer tokens, the dashboard's session cookie. The identify middleware asks each in turn.
 */
export interface CredentialResolver {
  readonly name: string;
  resolve(credentials: Credentials): Promise<Resolution>;
}
