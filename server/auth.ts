/**
 * Identity at the HTTP edge (server/auth/): the `Auth` the composition root builds, the identify middleware
 * with its resolver chain, and the credential kinds (static tokens, managed API tokens, registry tokens).
 */
export { AUTH_OFF_WARNING, Auth, identify, isUser, resolveCredentials } from './auth/auth.ts';
export type { CredentialResolver, Credentials, Resolution } from './auth/resolver.ts';
