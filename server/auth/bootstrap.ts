import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ApiTokens } from './tokens.ts';

/** Where the first start leaves the administrator token (npm run demo and the CLI read it on this machine). */
export const ADMIN_TOKEN_FILE = 'admin.token';
export const BOOTSTRAP_OWNER = 'admin';

/**
 * First start with auth on and no account yet (no AIBOMGEN_TOKENS, no managed token in the database): creates
 * an administrator token, stores only its hash, writes it 0600 to `<keysDir>/admin.token` and prints it once on
 * stderr — the log line says where it is without repeating it. Job workers never do this (they serve nothing).
 * Returns the token when one was made.
 */
export async function bootstrapAdmin(
  config: Pick<Config, 'auth' | 'tokens' | 'role' | 'keysDir'>,
  tokens: ApiTokens,
  log: Logger,
): Promise<string | undefined> {
  if (config.auth !== 'on' || config.role === 'worker' || config.tokens?.trim()) return undefined;
  if ((await tokens.count()) > 0) return undefined;
  const { token, info } = await tokens.insert({
    owner: BOOTSTRAP_OWNER,
    name: 'first start',
    scopes: ['admin'],
    createdBy: 'platform',
  });
  const file = join(config.keysDir, ADMIN_TOKEN_FILE);
  let kept = true;
  try {
    mkdirSync(config.keysDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // an older file keeps its mode through writeFileSync
  } catch (err) {
    kept = false; // a read-only keys directory (a mounted secret): the printed token is the only copy
    log.error({ err, file }, 'could not write the administrator token file');
  }
  log.warn(
    { owner: info.owner, tokenId: info.id, ...(kept ? { file } : {}) },
    `no account existed: created an administrator API token (printed once on stderr${kept ? ', kept in the file' : ''})`,
  );
  process.stderr.write(
    `\nAIBoMGen: first start, auth on. Administrator token (owner "${info.owner}", shown once${kept ? `; also in ${file}` : ''}):\n\n` +
      `  ${token}\n\n` +
      'Use it as "Authorization: Bearer <token>", with aibomgen login, or create narrower ones with aibomgen tokens create.\n\n',
  );
  return token;
}
