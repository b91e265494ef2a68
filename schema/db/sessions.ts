/** Tables of the dashboard's OIDC sign-in (server/auth/session.ts, server/auth/routes-oidc.ts). */
export interface SessionTables {
  /** A signed-in dashboard session; `id_hash` is the SHA-256 (hex) of the cookie's random id. */
  auth_sessions: {
    id_hash: string;
    owner: string;
    /** 1: an administrator (the issuer's admin group or AIBOMGEN_ADMINS at sign-in), else 0. */
    admin: number;
    issuer: string;
    subject: string;
    created_at: string;
    expires_at: string;
  };
  /** A sign-in between /auth/login and /auth/callback: the PKCE verifier and nonce of that `state`. */
  auth_logins: { state: string; code_verifier: string; nonce: string; return_to: string; expires_at: string };
}
