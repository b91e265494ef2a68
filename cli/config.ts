import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.ts';

/** What `aibomgen login` stores: the platform URL and, when given, its API token. */
export interface CliConfig {
  server: string;
  token?: string;
}

/**
 * Checks a parsed config file by hand (zod would cost every command ~0.5 s of start-up); returns the
 * problem as "field: what is wrong", or the config.
 */
export function checkConfig(raw: unknown): CliConfig | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'body: not a JSON object';
  const { server, token } = raw as Record<string, unknown>;
  if (typeof server !== 'string') return 'server: not a string';
  try {
    if (!/^https?:$/.test(new URL(server).protocol)) return 'server: not an http(s) URL';
  } catch {
    return 'server: not a URL';
  }
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) return 'token: not a non-empty string';
  return token === undefined ? { server } : { server, token };
}

/** `AIBOMGEN_CONFIG`, else `$XDG_CONFIG_HOME/aibomgen/config.json`, else `~/.config/aibomgen/config.json`. */
export function configPath(): string {
  if (process.env.AIBOMGEN_CONFIG) return process.env.AIBOMGEN_CONFIG;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'aibomgen', 'config.json');
}

/** The stored config, or undefined when there is none; a broken file is an error naming it. */
export function readConfig(path = configPath()): CliConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; run aibomgen login again`);
  }
  const cfg = checkConfig(raw);
  if (typeof cfg === 'string')
    throw new CliError(`${path} is not an aibomgen config (${cfg}); run aibomgen login again`);
  return cfg;
}

/** Writes the config readable by the owner only (it may hold a token): dir 0700, file 0600. */
export function writeConfig(cfg: CliConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; tighten it either way.
  chmodSync(path, 0o600);
}
