import type { Kysely, Migration } from 'kysely';

export const sessionMigrations: Record<string, Migration> = {
  sessions_001_tables: {
    async up(db: Kysely<unknown>) {
      // The dashboard's sign-in sessions (OIDC code flow). Only a SHA-256 of the cookie's random id is kept, so a
      // copy of the database holds no usable cookie; a row deleted is a session ended (logout, expiry).
      await db.schema
        .createTable('auth_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('admin', 'integer', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_sessions_expires').on('auth_sessions').column('expires_at').execute();
      // A sign-in under way: /auth/login writes it, /auth/callback takes it (once). Kept in the database, not in
      // memory, so the callback may reach another API node than the login did.
      await db.schema
        .createTable('auth_logins')
        .addColumn('state', 'text', (c) => c.primaryKey())
        .addColumn('code_verifier', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('return_to', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
