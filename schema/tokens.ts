import { z } from 'zod';

/**
 * Managed API tokens (`/developer/tokens`, GraphQL `tokens`/`createToken`/`revokeToken`, `aibomgen tokens`).
 * The scope names are server/identity.ts `scopes` (server/auth/tokens.ts checks at compile time that they match).
 */
export const tokenScopes = [
  'jobs:read',
  'jobs:write',
  'models:read',
  'registry:pull',
  'registry:push',
  'registry:delete',
  'tokens:write',
  'admin',
] as const;

/** An owner name is a registry namespace (users push under `<owner>/…`). */
export const ownerPattern = /^[a-z0-9]+([._-][a-z0-9]+)*$/;

export const CreateTokenRequest = z.strictObject({
  name: z.string().trim().min(1).max(100).describe('a label: "ci", "laptop"'),
  scopes: z
    .array(z.enum(tokenScopes))
    .min(1)
    .max(tokenScopes.length)
    .optional()
    .describe("what the token may do (default: the creator's own rights); `admin` only from an administrator"),
  expires_in_days: z.number().int().min(1).max(3650).optional().describe('default: never expires'),
  owner: z
    .string()
    .max(64)
    .regex(ownerPattern, 'lowercase letters, digits and . _ - between them')
    .optional()
    .describe('whom the token acts as (administrators only; default: the caller)'),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const TokenInfo = z.object({
  id: z.string(),
  owner: z.string(),
  name: z.string(),
  /** Absent: every right of the owner. */
  scopes: z.array(z.string()).optional(),
  created_by: z.string(),
  created_at: z.string(),
  expires_at: z.string().optional(),
  revoked_at: z.string().optional(),
  last_used_at: z.string().optional(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/** The answer to a creation: the token itself, shown this once (only its hash is kept). */
export const CreatedToken = TokenInfo.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenList = z.object({ items: z.array(TokenInfo) });
export type TokenList = z.infer<typeof TokenList>;

/** `GET /token` (the registry's token endpoint, docker/oras/skopeo/cosign login). */
export interface RegistryTokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}
