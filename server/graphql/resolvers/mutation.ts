import { nodeId } from '../../lineage/ids.ts';
import { isEvidenceTag } from '../../lineage/manifest.ts';
import type { GqlContext } from '../context.ts';
import { RegistryError } from '../../registry/errors.ts';
import { badInput, forbidden, gqlError, notFound } from '../errors.ts';
import { jobParent } from './views.ts';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { isAdmin, ownerName } from '../../identity.ts';
import { JobError } from '../../jobs/errors.ts';
import { jobErrorStatus } from '../../jobs/routes.ts';
import { submitModelJob, type FormPart } from '../../jobs/submit.ts';
import { maySubmit } from '../../jobs/visibility.ts';

type Ctx = GqlContext;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha(256|512):[a-f0-9]+$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function requireModel(ctx: Ctx, name: string): Promise<void> {
  if ((await ctx.loaders.versionsOfRepo.load(name)).length === 0)
    throw notFound(`model "${name}" has no versions in the registry`);
}

/** Tags that are a version's own (the tag it was pushed under) → its digest: moving or removing them would rewrite history. */
async function versionTags(ctx: Ctx, repo: string): Promise<Map<string, string>> {
  const versions = await ctx.loaders.versionsOfRepo.load(repo);
  return new Map(versions.flatMap((v) => (v.primary_tag ? [[v.primary_tag, v.digest] as const] : [])));
}

async function settled(ctx: Ctx, repo: string): Promise<{ name: string }> {
  await ctx.index?.idle();
  ctx.loaders.tagsOfRepo.clear(repo);
  ctx.loaders.versionsOfRepo.clear(repo);
  return { name: repo };
}

/** Runs a registry call, mapping its domain error (RegistryError) to the GraphQL error of the same meaning. */
async function registryCall<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    if (e.status === 401 || e.status === 403) throw forbidden(`${what}: ${e.message}`);
    if (e.status === 404) throw notFound(`${what}: ${e.message}`);
    throw badInput(`${what}: ${e.message}`, { status: e.status, code: e.code });
  }
}

export const Mutation = {
  submitTrainingJob: async (
    _: unknown,
    a: {
      model: File;
      dataset: File;
      datasetDefinition: File;
      framework: string;
      metadata?: unknown;
      params?: unknown;
      gpu?: unknown;
    },
    ctx: Ctx,
  ) => {
    if (a.metadata != null && !isPlainObject(a.metadata))
      throw badInput('metadata must be a JSON object of strings (model_name, model_version, author, ...)');
    if (a.params != null && !isPlainObject(a.params))
      throw badInput('params must be a JSON object (epochs, batch_size, ...)');
    // The form REST receives: framework, then the metadata and params as text fields.
    const fields: Record<string, string> = { framework: a.framework };
    // gpu: JSON (true, a count, ids) → the form field's text form; submit.ts validates it as REST does.
    if (a.gpu != null) fields.gpu = typeof a.gpu === 'string' ? a.gpu : JSON.stringify(a.gpu);
    for (const [k, v] of Object.entries({
      ...((a.metadata as Record<string, unknown> | null) ?? {}),
      ...((a.params as Record<string, unknown> | null) ?? {}),
    })) {
      if (v !== null && v !== undefined) fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    // Yoga's File is a whatwg-node ponyfill whose stream() Readable.fromWeb may refuse; it is async-iterable either way.
    const part = (field: string, f: File): FormPart => {
      const web = f.stream();
      let stream: Readable;
      try {
        stream = Readable.fromWeb(web as NodeWebStream<Uint8Array>);
      } catch {
        stream = Readable.from(web as unknown as AsyncIterable<Uint8Array>);
      }
      return { field, filename: f.name, stream };
    };
    try {
      // The one submit path REST takes too: the same limits, validation and messages.
      const job = await submitModelJob(
        { jobs: ctx.s.jobs, config: ctx.s.config, modelNames: ctx.s.modelNames },
        {
          owner: ownerName(ctx.caller),
          admin: isAdmin(ctx.caller),
          allowed: maySubmit(ctx.caller, ctx.s.auth.enabled),
          fields,
          parts: [part('model', a.model), part('dataset', a.dataset), part('dataset_definition', a.datasetDefinition)],
        },
      );
      return jobParent(job);
    } catch (e) {
      // As REST answers it: the status of the JobError, its detail and failing fields.
      if (!(e instanceof JobError)) {
        ctx.s.log.error({ err: e }, 'submitTrainingJob failed');
        throw gqlError('UNAVAILABLE', 'submitTrainingJob failed: HTTP 500 internal error');
      }
      const status = jobErrorStatus[e.code];
      if (status === 404) throw notFound(`submitTrainingJob: ${e.message}`);
      if (status === 403) throw forbidden(`submitTrainingJob: ${e.message}`);
      if (status < 500)
        throw badInput(`submitTrainingJob: ${e.message}`, { status, ...(e.fields ? { fields: e.fields } : {}) });
      throw gqlError('UNAVAILABLE', `submitTrainingJob failed: HTTP ${status} ${e.message}`);
    }
  },

  cancelJob: async (_: unknown, a: { id: string }, ctx: Ctx) => {
    let j: Awaited<ReturnType<typeof ctx.s.jobs.cancel>>;
    try {
      j = await ctx.s.jobs.cancel(a.id, ctx.caller);
    } catch (e) {
      throw badInput(`cancelJob: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!j) throw notFound(`job ${a.id} does not exist`);
    return jobParent(j);
  },

  setAlias: async (_: unknown, a: { model: string; alias: string; version: string }, ctx: Ctx) => {
    if (!TAG.test(a.alias))
      throw badInput(`alias "${a.alias}" is not a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
    if (isEvidenceTag(a.alias))
      throw forbidden(`alias "${a.alias}" is reserved for attestations (referrers fallback and cosign tags)`);
    await requireModel(ctx, a.model);
    const own = await versionTags(ctx, a.model);
    const tags = await ctx.loaders.tagsOfRepo.load(a.model);
    const digest = DIGEST.test(a.version) ? a.version : tags.find((t) => t.tag === a.version)?.digest;
    const target = digest ? await ctx.loaders.version.load(nodeId.model(a.model, digest)) : null;
    if (!target) throw notFound(`version "${a.version}" of model "${a.model}" does not exist`);
    const ownDigest = own.get(a.alias);
    if (ownDigest && ownDigest !== target.digest)
      throw forbidden(`"${a.alias}" is the version tag of ${a.model}@${ownDigest}; an alias cannot move a version tag`);
    const m = await registryCall('setAlias', () => ctx.s.registry.getManifest(ctx.caller, a.model, target.digest));
    if (!m) throw notFound(`the manifest of ${a.model}@${target.digest} is gone from the registry`);
    // The same access check as a PUT on /v2/, as the caller (not as the platform).
    await registryCall('setAlias', () =>
      ctx.s.registry.putManifest(ctx.caller, a.model, a.alias, m.bytes, m.mediaType),
    );
    return settled(ctx, a.model);
  },

  removeAlias: async (_: unknown, a: { model: string; alias: string }, ctx: Ctx) => {
    await requireModel(ctx, a.model);
    if (isEvidenceTag(a.alias)) throw forbidden(`"${a.alias}" is an attestation tag, not an alias`);
    const tag = (await ctx.loaders.tagsOfRepo.load(a.model)).find((t) => t.tag === a.alias);
    if (!tag) throw notFound(`model "${a.model}" has no alias "${a.alias}"`);
    if ((await versionTags(ctx, a.model)).has(a.alias))
      throw forbidden(`"${a.alias}" is the version tag of ${a.model}@${tag.digest}, not an alias`);
    if (!(await registryCall('removeAlias', () => ctx.s.registry.deleteManifest(ctx.caller, a.model, a.alias))))
      throw notFound(`model "${a.model}" has no alias "${a.alias}"`);
    return settled(ctx, a.model);
  },
};
