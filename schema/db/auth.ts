/** Tables of identity and credentials. Owned by server/auth. */
export interface AuthTables {
  auth_tokens: AuthTokensTable;
}

/** A managed API token (`abg_…`): only its SHA-256 is kept; the token itself is shown once, when created. */
export interface AuthTokensTable {
  /** Short public id (16 hex characters): what lists show and `DELETE /developer/tokens/<id>` names. */
  id: string;
  /** Who the token acts as. */
  owner: string;
  /** A label chosen by its creator ("ci", "laptop"). */
  name: string;
  /** Hex SHA-256 of the whole token. */
  hash: string;
  /** JSON array of scopes (identity.ts `scopes`); null = every right of the owner. */
  scopes_json: string | null;
  /** The owner who created it (an administrator may create tokens for others). */
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** Updated at most once a minute (not on every request). */
  last_used_at: string | null;
}
