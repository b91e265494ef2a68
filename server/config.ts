import { resolve } from 'node:path';
import { z } from 'zod';

/** Server configuration, read from the environment once at start-up. Every field has an embedded default. */
export const ConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Root of everything the embedded install keeps: database, blobs, uploads, keys, job work dirs. */
  dataDir: z.string().default('./data'),
  /** `sqlite` file path or a `postgres://` URL. Defaults to `<dataDir>/aibomgen.db`. */
  databaseUrl: z.string().optional(),
  /** Registry store adapter: `embedded` (files on disk) or `upstream` (a CNCF distribution registry). */
  registryStore: z.enum(['embedded', 'upstream']).default('embedded'),
  /** Base URL of the upstream distribution registry, e.g. http://127.0.0.1:5000 (upstream mode only). */
  upstreamUrl: z.string().url().optional(),
  /** Largest manifest accepted on PUT (the spec suggests at least 4 MiB). */
  maxManifestBytes: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** Public base URL used in Location headers and printed references; derived from host:port when unset. */
  publicUrl: z.string().url().optional(),
});
export type Config = z.infer<typeof ConfigSchema> & { dataDir: string; databaseUrl: string };

/** Builds the configuration from environment variables (PORT, HOST, AIBOMGEN_*), then `overrides`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<z.input<typeof ConfigSchema>> = {}): Config {
  const parsed = ConfigSchema.parse({
    host: env.HOST,
    port: env.PORT,
    dataDir: env.AIBOMGEN_DATA_DIR,
    databaseUrl: env.AIBOMGEN_DATABASE_URL,
    registryStore: env.AIBOMGEN_REGISTRY_STORE,
    upstreamUrl: env.AIBOMGEN_UPSTREAM_URL,
    maxManifestBytes: env.AIBOMGEN_MAX_MANIFEST_BYTES,
    publicUrl: env.AIBOMGEN_PUBLIC_URL,
    ...stripUndefined(overrides),
  });
  const dataDir = resolve(parsed.dataDir);
  if (parsed.registryStore === 'upstream' && !parsed.upstreamUrl) {
    throw new Error('AIBOMGEN_UPSTREAM_URL is required when AIBOMGEN_REGISTRY_STORE=upstream');
  }
  return { ...parsed, dataDir, databaseUrl: parsed.databaseUrl ?? resolve(dataDir, 'aibomgen.db') };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
