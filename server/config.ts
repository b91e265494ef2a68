import { join, resolve } from 'node:path';
import { z } from 'zod';
import { trainerAutoModes } from '../schema/jobs.ts';
import { keysDir } from './attest/keys.ts';

/** Server configuration, read from the environment once at start-up. Every field has an embedded default. */
export const ConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Root of everything the embedded install keeps: database, blobs, uploads, keys, job work dirs. */
  dataDir: z.string().default('./data'),
  /** `sqlite` file path or a `postgres://` URL. Defaults to `<dataDir>/aibomgen.db`. */
  databaseUrl: z.string().optional(),
  /** The platform signing key, the layout root key and the signed layout. Defaults to `<dataDir>/keys`. */
  keysDir: z.string().optional(),
  /** Registry store adapter: `embedded` (files on disk) or `upstream` (a CNCF distribution registry). */
  registryStore: z.enum(['embedded', 'upstream']).default('embedded'),
  /** Base URL of the upstream distribution registry, e.g. http://127.0.0.1:5000 (upstream mode only). */
  upstreamUrl: z.string().url().optional(),
  /** Largest manifest accepted on PUT (the spec suggests at least 4 MiB). */
  maxManifestBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  /** Public base URL used in Location headers and printed references; derived from host:port when unset. */
  publicUrl: z.string().url().optional(),

  // ---- jobs ----
  /** Job runner: `docker` (dockerode; podman's compatible API works), `process` (no isolation), or `auto`. */
  runner: z.enum(['auto', 'docker', 'process']).default('auto'),
  /** Docker API socket for the docker runner; DOCKER_HOST (unix://…) is honoured too. */
  dockerSocket: z.string().optional(),
  /** Jobs run at once (default: 1 per GPU, 1 on CPU-only machines). */
  jobConcurrency: z.coerce.number().int().min(1).max(64).optional(),
  /** Wall-clock limit of one training run. */
  jobTimeoutSeconds: z.coerce.number().int().min(1).default(3600),
  jobMemoryBytes: z.coerce
    .number()
    .int()
    .min(64 * 1024 * 1024)
    .default(4 * 1024 ** 3),
  jobCpus: z.coerce.number().min(0.1).default(2),
  jobPids: z.coerce.number().int().min(16).default(256),
  /** Each of a job's stdout and stderr logs is kept up to this size (the rest is dropped, with a marker line). */
  jobLogBytes: z.coerce
    .number()
    .int()
    .min(4096)
    .default(64 * 1024 ** 2),
  /** Most a job may write to /output; a job over it is stopped and fails. */
  jobOutputBytes: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(10 * 1024 ** 3),
  /**
   * `keras` (default): a TF.js-framework job whose model maps exactly runs on the Keras trainer when its image is
   * built (server/jobs/runners/trainer-choice.ts; the output stays TF.js); `off`: always the TF.js trainer.
   */
  trainerAuto: z.enum(trainerAutoModes).default('keras'),
  /** On start, re-queue jobs a crash left running instead of failing them with reason "interrupted". */
  requeueInterrupted: z.stringbool().default(false),
  /** Largest single uploaded file, and all files of one request together. */
  maxUploadBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 ** 3),
  maxRequestBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 ** 3),
  /** Largest /graphql request (yoga reads multipart uploads into memory; big uploads go to the REST routes, which stream). */
  maxGraphqlBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024 ** 2),
  /** `all` serves and runs jobs; `api` only serves (jobs run on workers); `worker` only runs jobs. */
  role: z.enum(['all', 'api', 'worker']).default('all'),
  /** This node's worker id (default: the host name); recovery after a crash touches only its own jobs. */
  workerId: z.string().min(1).max(255).optional(),
  /**
   * Which key signs the evidence of the jobs this node runs: `own` (the default of `role: worker`) a key the
   * worker makes on first start and enrolls for an administrator's approval (server/attest/worker-keys.ts);
   * `platform` the platform key of the keys directory (the default of a node that also serves the API).
   */
  workerKeys: z.enum(['platform', 'own']).optional(),
  /** Where a worker keeps its own key (default `<data dir>/worker-key`). */
  workerKeyDir: z.string().optional(),
  /**
   * The queue engine (server/jobs/queue/): `embedded` claims from the jobs table (SQLite, one host), `pg-boss` is
   * the Postgres job queue for several hosts; `auto` picks pg-boss on a postgres:// database.
   */
  queueEngine: z.enum(['auto', 'embedded', 'pg-boss']).default('auto'),
  /** A running job's lease: a worker that has not heartbeated for this long loses the job to another worker. */
  leaseSeconds: z.coerce.number().int().min(2).max(3600).default(30),
  /** Re-runs of a job whose worker died (backoff doubles each time); past them the job is dead-lettered. */
  jobRetries: z.coerce.number().int().min(0).max(20).default(3),
  /**
   * `shared`: workers read a job's inputs from the data directory the API node wrote them to (one host, or a
   * shared volume). `registry`: the API node pushes them to the registry and a worker without them pulls them.
   */
  jobInputs: z.enum(['shared', 'registry']).default('shared'),
  /** Auth: `owner:token[,owner:token…]`. Unset: no auth, every job is owned by "anonymous". */
  tokens: z.string().optional(),
  /** With tokens on: may anyone pull from /v2/ (verifiers need no account), or only token holders? */
  anonymousPull: z.stringbool().default(true),

  // ---- identity and tenancy ----
  /** `on` (default): every API call needs an identity. `off`: a development switch, warned about at start and on /healthz. */
  auth: z.enum(['on', 'off']).default('on'),
  /** Owners who are administrators (comma-separated). */
  admins: z.string().optional(),
  /** The namespace the platform publishes trained models into: written only by the platform's own identity. */
  trustedNamespace: z
    .string()
    .regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/)
    .default('models'),
  /**
   * The publication gate: a job whose AIBoM's completeness score (server/attest/score.ts) is below this is not
   * published into the trusted namespace; the job fails with the missing fields listed. Unset: no gate.
   */
  minAibomScore: z.coerce.number().int().min(0).max(100).optional(),
  /** Extra namespaces granted to owners: `ns=alice|bob;team=carol` (everyone owns `<owner>/…`). */
  namespaceGrants: z.string().optional(),
  /** Host names (host[:port]) requests may address; the public URL's and the listen address's are always allowed. */
  allowedHosts: z.string().optional(),
  /** OIDC: bearer tokens from this issuer are accepted (discovery + JWKS); the dashboard signs in with code + PKCE. */
  oidcIssuer: z.string().url().optional(),
  oidcAudience: z.string().optional(),
  oidcClientId: z.string().optional(),
  oidcClientSecret: z.string().optional(),
  /** Claim naming the owner (default preferred_username, else sub). */
  oidcOwnerClaim: z.string().default('preferred_username'),
  /** Members of this group (the `groups` claim) are administrators. */
  oidcAdminGroup: z.string().optional(),
  /** Accepted JWS algorithms (never `none`, never HMAC with a public key). */
  oidcAlgorithms: z.string().default('RS256,PS256,ES256,EdDSA'),
  /** Least seconds between two JWKS fetches that tokens with an unknown `kid` cause (shields the issuer). */
  oidcJwksCooldownSeconds: z.coerce.number().min(0).default(30),
  /** `verified`: /v2/ serves a manifest of the trusted namespace only when its evidence verifies (cached per digest). */
  pullPolicy: z.enum(['open', 'verified']).default('open'),
  /** Per identity and minute: job submissions, verifications, registry token issuances (429 + Retry-After above). */
  rateSubmitsPerMinute: z.coerce.number().int().min(1).default(30),
  rateVerificationsPerMinute: z.coerce.number().int().min(1).default(120),
  rateTokensPerMinute: z.coerce.number().int().min(1).default(60),
  /** Per client and minute: dashboard sign-ins started (`GET /auth/login`, each writes a pending-login row). */
  rateLoginsPerMinute: z.coerce.number().int().min(1).default(20),
  /** Queued jobs one owner may have at once (more: 429). */
  maxQueuedPerOwner: z.coerce.number().int().min(1).default(1000),

  // ---- registry limits ----
  /** Largest blob accepted (a push over it is refused, nothing kept). */
  /**
   * Upstream mode: a blob GET that distribution answers with a redirect to its object store (S3 driver,
   * pre-signed URL) is passed to the client, so blob bytes never pass through the front. `false`: the front
   * follows it and relays the bytes itself (clients that cannot reach the object store).
   */
  registryBlobRedirect: z.stringbool().default(true),
  maxBlobBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 ** 3),
  /** An upload session untouched this long is purged with its files and state. */
  uploadSessionTtlSeconds: z.coerce.number().int().min(1).default(3600),
  /** Open upload sessions one identity may hold (more: 429). */
  maxUploadSessionsPerIdentity: z.coerce.number().int().min(1).default(200),
});
export type Config = Omit<z.infer<typeof ConfigSchema>, 'workerKeys' | 'workerKeyDir'> & {
  dataDir: string;
  databaseUrl: string;
  keysDir: string;
  workerKeys: 'platform' | 'own';
  workerKeyDir: string;
};

/** Builds the configuration from environment variables (PORT, HOST, AIBOMGEN_*), then `overrides`. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<z.input<typeof ConfigSchema>> = {},
): Config {
  const parsed = ConfigSchema.parse({
    host: env.HOST,
    port: env.PORT,
    dataDir: env.AIBOMGEN_DATA_DIR,
    keysDir: env.AIBOMGEN_KEYS_DIR,
    databaseUrl: env.AIBOMGEN_DATABASE_URL,
    registryStore: env.AIBOMGEN_REGISTRY_STORE,
    upstreamUrl: env.AIBOMGEN_UPSTREAM_URL,
    maxManifestBytes: env.AIBOMGEN_MAX_MANIFEST_BYTES,
    publicUrl: env.AIBOMGEN_PUBLIC_URL,
    runner: env.AIBOMGEN_RUNNER,
    dockerSocket:
      env.AIBOMGEN_DOCKER_SOCKET ??
      (env.DOCKER_HOST?.startsWith('unix://') ? env.DOCKER_HOST.slice('unix://'.length) : undefined),
    jobConcurrency: env.AIBOMGEN_JOB_CONCURRENCY,
    jobTimeoutSeconds: env.AIBOMGEN_JOB_TIMEOUT_SECONDS,
    jobMemoryBytes: env.AIBOMGEN_JOB_MEMORY_BYTES,
    jobCpus: env.AIBOMGEN_JOB_CPUS,
    jobPids: env.AIBOMGEN_JOB_PIDS,
    jobLogBytes: env.AIBOMGEN_JOB_LOG_BYTES,
    jobOutputBytes: env.AIBOMGEN_JOB_OUTPUT_BYTES,
    requeueInterrupted: env.AIBOMGEN_REQUEUE_INTERRUPTED,
    trainerAuto: env.AIBOMGEN_TRAINER_AUTO,
    jobInputs: env.AIBOMGEN_JOB_INPUTS,
    maxUploadBytes: env.AIBOMGEN_MAX_UPLOAD_BYTES,
    maxRequestBytes: env.AIBOMGEN_MAX_REQUEST_BYTES,
    maxGraphqlBytes: env.AIBOMGEN_MAX_GRAPHQL_BYTES,
    tokens: env.AIBOMGEN_TOKENS,
    anonymousPull: env.AIBOMGEN_ANONYMOUS_PULL,
    role: env.AIBOMGEN_ROLE,
    workerId: env.AIBOMGEN_WORKER_ID,
    workerKeys: env.AIBOMGEN_WORKER_KEYS,
    workerKeyDir: env.AIBOMGEN_WORKER_KEY_DIR,
    queueEngine: env.AIBOMGEN_QUEUE_ENGINE,
    leaseSeconds: env.AIBOMGEN_LEASE_SECONDS,
    jobRetries: env.AIBOMGEN_JOB_RETRIES,
    auth: env.AIBOMGEN_AUTH,
    admins: env.AIBOMGEN_ADMINS,
    trustedNamespace: env.AIBOMGEN_TRUSTED_NAMESPACE,
    minAibomScore: env.AIBOMGEN_MIN_AIBOM_SCORE,
    namespaceGrants: env.AIBOMGEN_NAMESPACE_GRANTS,
    allowedHosts: env.AIBOMGEN_ALLOWED_HOSTS,
    oidcIssuer: env.AIBOMGEN_OIDC_ISSUER,
    oidcAudience: env.AIBOMGEN_OIDC_AUDIENCE,
    oidcClientId: env.AIBOMGEN_OIDC_CLIENT_ID,
    oidcClientSecret: env.AIBOMGEN_OIDC_CLIENT_SECRET,
    oidcOwnerClaim: env.AIBOMGEN_OIDC_OWNER_CLAIM,
    oidcAdminGroup: env.AIBOMGEN_OIDC_ADMIN_GROUP,
    oidcAlgorithms: env.AIBOMGEN_OIDC_ALGORITHMS,
    oidcJwksCooldownSeconds: env.AIBOMGEN_OIDC_JWKS_COOLDOWN_SECONDS,
    pullPolicy: env.AIBOMGEN_PULL_POLICY,
    rateSubmitsPerMinute: env.AIBOMGEN_RATE_SUBMITS_PER_MINUTE,
    rateVerificationsPerMinute: env.AIBOMGEN_RATE_VERIFICATIONS_PER_MINUTE,
    rateTokensPerMinute: env.AIBOMGEN_RATE_TOKENS_PER_MINUTE,
    rateLoginsPerMinute: env.AIBOMGEN_RATE_LOGINS_PER_MINUTE,
    maxQueuedPerOwner: env.AIBOMGEN_MAX_QUEUED_PER_OWNER,
    registryBlobRedirect: env.AIBOMGEN_REGISTRY_BLOB_REDIRECT,
    maxBlobBytes: env.AIBOMGEN_MAX_BLOB_BYTES,
    uploadSessionTtlSeconds: env.AIBOMGEN_UPLOAD_TTL_SECONDS,
    maxUploadSessionsPerIdentity: env.AIBOMGEN_MAX_UPLOAD_SESSIONS,
    ...stripUndefined(overrides),
  });
  const dataDir = resolve(parsed.dataDir);
  if (parsed.registryStore === 'upstream' && !parsed.upstreamUrl) {
    throw new Error('AIBOMGEN_UPSTREAM_URL is required when AIBOMGEN_REGISTRY_STORE=upstream');
  }
  return {
    ...parsed,
    dataDir,
    databaseUrl: parsed.databaseUrl ?? resolve(dataDir, 'aibomgen.db'),
    keysDir: parsed.keysDir ? resolve(parsed.keysDir) : keysDir(dataDir),
    workerKeys: parsed.workerKeys ?? (parsed.role === 'worker' ? 'own' : 'platform'),
    workerKeyDir: resolve(parsed.workerKeyDir ?? join(dataDir, 'worker-key')),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
