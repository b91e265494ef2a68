/**
 * How a request is named in the audit log: its action (the method and the route, with the variable parts as
 * placeholders, e.g. `PUT /v2/<repo>/manifests/<ref>`; `graphql setAlias` for a GraphQL mutation) and its
 * target (the concrete thing: `alice/net:1.0`, a job id, a verified reference).
 */
import type { GraphqlCall } from '../ops/graphql-operation.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface Described {
  action: string;
  target?: string;
  /** The job a `/developer/…/<id>` route is about: a 404 there may hide another owner's job. */
  jobId?: string;
}

const at = (repo: string, ref: string): string => (DIGEST.test(ref) ? `${repo}@${ref}` : `${repo}:${ref}`);

/** A REST, /v2/ or /token request. */
export function describeHttp(method: string, path: string, query: URLSearchParams): Described {
  if (path === '/v2' || path.startsWith('/v2/')) return describeRegistry(method, path.slice(4), query);
  if (path === '/token' || path.startsWith('/token/')) {
    const scopes = query.getAll('scope').join(' ');
    return { action: `${method} /token`, ...(scopes ? { target: scopes } : {}) };
  }
  const ref = /^\/verifier\/verify\/(.+)$/.exec(path);
  if (ref) return { action: `${method} /verifier/verify/<ref>`, target: decode(ref[1]!) };
  const artifact = /^\/developer\/job_artifacts\/([^/]+)\/(.+)$/.exec(path);
  if (artifact && UUID.test(artifact[1]!))
    return {
      action: `${method} /developer/job_artifacts/<id>/<path>`,
      target: `${artifact[1]}/${decode(artifact[2]!)}`,
      jobId: artifact[1]!,
    };
  // Any other route: ids become `<id>` (the action stays one value per route; the id is the target).
  const segments = path.split('/');
  const id = segments.find((s) => UUID.test(s));
  const action = `${method} ${segments.map((s) => (UUID.test(s) ? '<id>' : s)).join('/')}`;
  if (!id) return { action };
  return { action, target: id, ...(path.startsWith('/developer/') ? { jobId: id } : {}) };
}

/** The OCI Distribution API, as server/registry/routes.ts dispatches it (`tail` is the path after /v2). */
function describeRegistry(method: string, tail: string, query: URLSearchParams): Described {
  const path = tail.replace(/^\//, '');
  if (path === '') return { action: `${method} /v2/` };
  if (path === '_catalog') return { action: `${method} /v2/_catalog` };
  const digest = query.get('digest'); // a monolithic upload (POST) or an upload's last part (PUT)
  let m = /^(.+)\/blobs\/uploads\/?$/.exec(path);
  if (m) return { action: `${method} /v2/<repo>/blobs/uploads/`, target: digest ? `${m[1]}@${digest}` : m[1]! };
  m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(path);
  if (m)
    return { action: `${method} /v2/<repo>/blobs/uploads/<session>`, target: digest ? `${m[1]}@${digest}` : m[1]! };
  m = /^(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) return { action: `${method} /v2/<repo>/blobs/<digest>`, target: `${m[1]}@${m[2]}` };
  m = /^(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) return { action: `${method} /v2/<repo>/manifests/<ref>`, target: at(m[1]!, m[2]!) };
  m = /^(.+)\/tags\/list$/.exec(path);
  if (m) return { action: `${method} /v2/<repo>/tags/list`, target: m[1]! };
  m = /^(.+)\/referrers\/([^/]+)$/.exec(path);
  if (m) return { action: `${method} /v2/<repo>/referrers/<digest>`, target: `${m[1]}@${m[2]}` };
  return { action: `${method} /v2/${path}` };
}

/**
 * A GraphQL operation: `graphql <root fields>` (each named once, in order) and what they are about, from
 * their arguments (a job id, a model and alias, a reference) or, for a created job, from the answer's data.
 */
export function describeGraphql(calls: readonly GraphqlCall[], data: Record<string, unknown> | undefined): Described {
  const fields = [...new Set(calls.map((c) => c.field))];
  const targets = calls.map((c) => targetOf(c, data?.[c.key])).filter((t): t is string => Boolean(t));
  return {
    action: fields.length ? `graphql ${fields.join(',')}` : 'graphql',
    ...(targets.length ? { target: [...new Set(targets)].join(' ') } : {}),
  };
}

function targetOf(c: GraphqlCall, answer: unknown): string | undefined {
  const a = c.args;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  if (str(a.model) && str(a.alias)) return `${a.model}:${a.alias}`;
  const named = str(a.id) ?? str(a.ref) ?? str(a.digest) ?? str(a.model) ?? str(a.name);
  if (named) return named;
  // A created thing (submitTrainingJob): its id, when the client asked for it.
  if (answer && typeof answer === 'object' && str((answer as { id?: unknown }).id))
    return (answer as { id: string }).id;
  const meta = a.metadata as { model_name?: unknown } | undefined;
  return str(meta?.model_name);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
