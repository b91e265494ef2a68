import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.ts';

/** What `aibomgen login` stores: the platform URL and, when given, its API token. */
export const CliConfigSchema = z.object({
  server: z.string().url(),
  token: z.string().min(1).optional(),
});
export type CliConfig = z.infer<typeof CliConfigSchema>;

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
  const parsed = CliConfigSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(`${path} is not an aibomgen config (${parsed.error.issues[0]?.path.join('.') || 'body'}: ${parsed.error.issues[0]?.message}); run aibomgen login again`);
  return parsed.data;
}

/** Writes the config readable by the owner only (it may hold a token): dir 0700, file 0600. */
export function writeConfig(cfg: CliConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; tighten it either way.
  chmodSync(path, 0o600);
}
