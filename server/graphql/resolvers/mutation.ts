import type { JobResponse, ApiError } from '../../../schema/api.ts';
import { nodeId } from '../../lineage/ids.ts';
import { isEvidenceTag } from '../../lineage/manifest.ts';
import type { GqlContext } from '../context.ts';
import { INTERNAL_BASE_URL } from '../../context.ts';
import { badInput, forbidden, gqlError, notFound, unavailable } from '../errors.ts';
import { jobParent } from './views.ts';

type Ctx = GqlContext;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha(256|512):[a-f0-9]+$/;

/** Headers of the caller worth forwarding to the REST endpoint (identity), never the body's framing. */
function forwardHeaders(req: Request): Headers {
  const h = new Headers();
  for (const k of ['authorization', 'cookie', 'x-owner', 'x-request-id']) {
    const v = req.headers.get(k);
    if (v) h.set(k, v);
  }
  return h;
}

async function self(ctx: Ctx, req: Request): Promise<Response> {
  if (!ctx.s.selfFetch) throw unavailable('the in-process HTTP API');
  return ctx.s.selfFetch(req);
}

/** Maps a REST failure to a GraphQL error with the REST body's detail and failing fields. */
async function restError(res: Response, what: string): Promise<Error> {
  const text = await res.text();
  let body: Partial<ApiError> = {};
  try { body = JSON.parse(text) as Partial<ApiError>; } catch { /* not JSON */ }
  const detail = body.detail ?? (text.slice(0, 500) || res.statusText);
  if (res.status === 401 || res.status === 403) return forbidden(`${what}: ${detail}`);
  if (res.status === 404 && !body.error) return unavailable(what);
  if (res.status === 404) return notFound(`${what}: ${detail}`);
  if (res.status >= 400 && res.status < 500) return badInput(`${what}: ${detail}`, { status: res.status, ...(body.fields ? { fields: body.fields } : {}) });
  return gqlError('UNAVAILABLE', `${what} failed: HTTP ${res.status} ${detail}`);
}

/**
 * Yoga hands over its own (whatwg-node) File objects, which Node's FormData refuses; yoga has already read the
 * multipart body into memory, so copying the bytes into a native File costs no extra round trip.
 */
async function nativeFile(f: File): Promise<File> {
  return new File([await f.arrayBuffer()], f.name, { type: f.type });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function requireModel(ctx: Ctx, name: string): Promise<void> {
  if ((await ctx.loaders.versionsOfRepo.load(name)).length === 0) throw notFound(`model "${name}" has no versions in the registry`);
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

export const Mutation = {
  submitTrainingJob: async (_: unknown, a: { model: File; dataset: File; datasetDefinition: File; framework: string; metadata?: unknown; params?: unknown }, ctx: Ctx) => {
    if (a.metadata != null && !isPlainObject(a.metadata)) throw badInput('metadata must be a JSON object of strings (model_name, model_version, author, ...)');
    if (a.params != null && !isPlainObject(a.params)) throw badInput('params must be a JSON object (epochs, batch_size, ...)');
    const form = new FormData();
    form.set('model', await nativeFile(a.model), a.model.name);
    form.set('dataset', await nativeFile(a.dataset), a.dataset.name);
    form.set('dataset_definition', await nativeFile(a.datasetDefinition), a.datasetDefinition.name);
    form.set('framework', a.framework);
    for (const [k, v] of Object.entries({ ...(a.metadata as Record<string, unknown> | null ?? {}), ...(a.params as Record<string, unknown> | null ?? {}) })) {
      if (v !== null && v !== undefined) form.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    }
    // All validation lives in the REST endpoint: one place, one set of messages.
    const res = await self(ctx, new Request(`${INTERNAL_BASE_URL}/developer/submit_job_by_model_and_data`, { method: 'POST', body: form, headers: forwardHeaders(ctx.request) }));
    if (!res.ok) throw await restError(res, 'submitTrainingJob');
    return jobParent((await res.json()) as JobResponse);
  },

  cancelJob: async (_: unknown, a: { id: string }, ctx: Ctx) => {
    if (!ctx.s.jobs) throw unavailable('the job service');
    let j;
    try {
      j = await ctx.s.jobs.cancel(a.id);
    } catch (e) {
      throw badInput(`cancelJob: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!j) throw notFound(`job ${a.id} does not exist`);
    return jobParent(j);
  },

  setAlias: async (_: unknown, a: { model: string; alias: string; version: string }, ctx: Ctx) => {
    if (!TAG.test(a.alias)) throw badInput(`alias "${a.alias}" is not a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
    if (isEvidenceTag(a.alias)) throw forbidden(`alias "${a.alias}" is reserved for attestations (referrers fallback and cosign tags)`);
    await requireModel(ctx, a.model);
    const own = await versionTags(ctx, a.model);
    const tags = await ctx.loaders.tagsOfRepo.load(a.model);
    const digest = DIGEST.test(a.version) ? a.version : tags.find((t) => t.tag === a.version)?.digest;
    const target = digest ? await ctx.loaders.version.load(nodeId.model(a.model, digest)) : null;
    if (!target) throw notFound(`version "${a.version}" of model "${a.model}" does not exist`);
    const ownDigest = own.get(a.alias);
    if (ownDigest && ownDigest !== target.digest) throw forbidden(`"${a.alias}" is the version tag of ${a.model}@${ownDigest}; an alias cannot move a version tag`);
    const m = await ctx.s.store.getManifest(a.model, target.digest);
    if (!m) throw notFound(`the manifest of ${a.model}@${target.digest} is gone from the registry`);
    const res = await self(ctx, new Request(`${INTERNAL_BASE_URL}/v2/${a.model}/manifests/${a.alias}`, {
      method: 'PUT', body: Buffer.from(m.bytes), headers: (() => { const h = forwardHeaders(ctx.request); h.set('content-type', m.mediaType); return h; })(),
    }));
    if (res.status !== 201) throw await restError(res, 'setAlias');
    return settled(ctx, a.model);
  },

  removeAlias: async (_: unknown, a: { model: string; alias: string }, ctx: Ctx) => {
    await requireModel(ctx, a.model);
    if (isEvidenceTag(a.alias)) throw forbidden(`"${a.alias}" is an attestation tag, not an alias`);
    const tag = (await ctx.loaders.tagsOfRepo.load(a.model)).find((t) => t.tag === a.alias);
    if (!tag) throw notFound(`model "${a.model}" has no alias "${a.alias}"`);
    if ((await versionTags(ctx, a.model)).has(a.alias)) throw forbidden(`"${a.alias}" is the version tag of ${a.model}@${tag.digest}, not an alias`);
    const res = await self(ctx, new Request(`${INTERNAL_BASE_URL}/v2/${a.model}/manifests/${a.alias}`, { method: 'DELETE', headers: forwardHeaders(ctx.request) }));
    if (res.status !== 202) throw await restError(res, 'removeAlias');
    return settled(ctx, a.model);
  },
};
