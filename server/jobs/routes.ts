/**
 * The seed's developer API (/developer/*): submit by model+data or by image, status, paged list, cancel,
 * artifacts (listed and streamed), logs, and live events over Server-Sent Events. The REST edge of the jobs
 * area: JobErrors become their HTTP status and the ApiError body here, and nowhere below.
 */
import { existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { JobListQuery, type ArtifactListResponse, type JobListResponse, type JobResponse } from '../../schema/api.ts';
import { HttpError } from '../api-error.ts';
import type { Auth } from '../auth.ts';
import type { ModelNames } from '../attest/model-names.ts';
import type { Config } from '../config.ts';
import { isAdmin } from '../identity.ts';
import { maySubmit } from './visibility.ts';
import type { AppEnv } from '../context.ts';
import { terminalJobStates, type JobEvent, type JobView } from '../contracts.ts';
import type { OciTarget } from '../oci/target.ts';
import { openNoFollow } from '../bounded-read.ts';
import { listLocalArtifacts, openLocalArtifact, openPublishedArtifact, publishedArtifacts } from './artifacts.ts';
import { JobError, type JobErrorCode } from './errors.ts';
import { isJobId, jobDir } from './paths.ts';
import type { Jobs } from './service.ts';
import { submitJob, type SubmissionKind } from './submit.ts';
import { multipartParts } from './uploads.ts';

/** The HTTP status each JobError answers with (the GraphQL edge reports it too, as `extensions.status`). */
export const jobErrorStatus: Record<JobErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  payload_too_large: 413,
  unsupported_framework: 422,
  definition_mismatch: 422,
  unsupported_runner: 422,
  registry_unavailable: 503,
};

export function toHttpError(e: JobError): HttpError {
  return new HttpError(jobErrorStatus[e.code], e.code, e.message, e.fields);
}

export function toResponse(v: JobView): JobResponse {
  return { job_id: v.id, status: v.state, ...v };
}

export interface JobRoutesDeps {
  config: Config;
  jobs: Jobs;
  auth: Auth;
  /** The registry as the platform: the published outputs of jobs another node ran. */
  registry: OciTarget;
  modelNames: ModelNames;
}

type Handler = (c: Context<AppEnv>) => Promise<Response>;

/** The `:id` of a job route. */
const jobId = (c: Context<AppEnv>): string => c.req.param('id') ?? '';

/** A route handler whose JobErrors answer as REST errors. */
const edge =
  (h: Handler): Handler =>
  async (c) => {
    try {
      return await h(c);
    } catch (e) {
      throw e instanceof JobError ? toHttpError(e) : e;
    }
  };

export function mountJobRoutes(app: Hono<AppEnv>, d: JobRoutesDeps): void {
  const { config, jobs, auth, registry, modelNames } = d;
  const route = app.basePath('/developer');
  const outputOf = (id: string): string => join(jobDir(config.dataDir, id), 'output');
  // With auth on, every developer route needs a valid token (reads too: job records name inputs and owners).
  app.use('/developer/*', async (c, next) => {
    auth.ownerOf(c);
    await next();
  });

  const needJob = async (c: Context<AppEnv>, id: string): Promise<JobView> => {
    const job = isJobId(id) ? await jobs.get(id, c.get('caller')) : null;
    if (!job) throw new JobError('not_found', `job ${id} does not exist`);
    return job;
  };

  /** The streamed multipart body, handed part by part to the one submit path REST and GraphQL share. */
  const submit = (kind: SubmissionKind): Handler =>
    edge(async (c) => {
      const owner = auth.ownerOf(c);
      const view = await submitJob({ jobs, config, modelNames }, kind, {
        owner,
        admin: isAdmin(c.get('caller')),
        allowed: maySubmit(c.get('caller'), auth.enabled),
        parts: multipartParts(c.req.raw.body, c.req.header('content-type')),
        declaredBytes: Number(c.req.header('content-length') ?? 0),
      });
      return c.json(toResponse(view), 202);
    });
  route.post('/submit_job_by_model_and_data', submit('model'));
  route.post('/submit_job_by_image', submit('image'));

  route.get(
    '/job_status/:id',
    edge(async (c) => c.json(toResponse(await needJob(c, jobId(c))))),
  );

  route.get(
    '/jobs',
    edge(async (c) => {
      const q = JobListQuery.safeParse(c.req.query());
      if (!q.success)
        throw new JobError(
          'invalid_request',
          'invalid query',
          q.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
        );
      const page = await jobs.list(q.data, c.get('caller'));
      const body: JobListResponse = { items: page.items.map(toResponse), ...(page.next ? { next: page.next } : {}) };
      return c.json(body);
    }),
  );

  route.post(
    '/jobs/:id/cancel',
    edge(async (c) => {
      await needJob(c, jobId(c));
      const v = await jobs.cancel(jobId(c), c.get('caller'));
      if (!v) throw new JobError('not_found', `job ${jobId(c)} does not exist`);
      return c.json(toResponse(v!));
    }),
  );

  route.get(
    '/job_artifacts/:id',
    edge(async (c) => {
      const job = await needJob(c, jobId(c));
      const root = outputOf(job.id);
      const remote = existsSync(root) ? undefined : await publishedArtifacts(registry, job);
      if (remote) return c.json({ job_id: job.id, artifacts: remote } satisfies ArtifactListResponse);
      // Artifacts of a run in progress are not final (and of a cut-off run are gone): only settled states list.
      const settled = terminalJobStates.includes(job.state) || job.state === 'attesting' || job.state === 'publishing';
      return c.json({
        job_id: job.id,
        artifacts: settled ? await listLocalArtifacts(root) : [],
      } satisfies ArtifactListResponse);
    }),
  );

  route.get(
    '/job_artifacts/:id/*',
    edge(async (c) => {
      const job = await needJob(c, jobId(c));
      const name = decodeURIComponent(c.req.path.slice(`/developer/job_artifacts/${job.id}/`.length));
      const root = outputOf(job.id);
      if (!name || name.split('/').some((p) => p === '..' || p === '' || p.startsWith('.')))
        throw new JobError('invalid_request', `invalid artifact name "${name}"`);
      const missing = (): JobError => new JobError('not_found', `job ${job.id} has no artifact ${name}`);
      const send = (size: number, body: Readable): Response => {
        c.header('Content-Type', 'application/octet-stream');
        c.header('Content-Length', String(size));
        c.header('Content-Disposition', `attachment; filename="${name.split('/').pop()!.replace(/"/g, '')}"`);
        return c.body(Readable.toWeb(body) as ReadableStream);
      };
      if (!existsSync(root)) {
        // Run on another node: the file as the published model holds it.
        const blob = await openPublishedArtifact(registry, job, name);
        if (!blob) throw missing();
        return send(blob.size, blob.stream);
      }
      // No symlinks (O_NOFOLLOW): a job could point one at a host file. The real path must stay inside the output dir.
      const file = await openLocalArtifact(root, name);
      if (!file) throw missing();
      return send(file.size, file.stream);
    }),
  );

  route.get(
    '/jobs/:id/logs',
    edge(async (c) => {
      const job = await needJob(c, jobId(c));
      const dir = jobDir(config.dataDir, job.id);
      // The runner's log files, opened without following links (regular files only).
      const parts: FileHandle[] = [];
      for (const f of ['stdout.log', 'stderr.log']) {
        const fh = await openNoFollow(join(dir, f)).catch(() => undefined);
        if (fh) parts.push(fh);
      }
      c.header('Content-Type', 'text/plain; charset=utf-8');
      if (parts.length === 0 && job.state !== 'queued') {
        // Run by another node (a worker on another host): its log files are there; the lines it stored as events are here.
        const lines = await jobs.storedLogLines(job.id);
        return c.text(
          [
            `[aibomgen: no log files of job ${job.id} on this node (another node ran it): its log lines as stored in the job's events]`,
            ...lines,
            '',
          ].join('\n'),
        );
      }
      const stream = Readable.from(
        (async function* () {
          for (const p of parts) for await (const chunk of p.createReadStream()) yield chunk as Buffer;
        })(),
      );
      return c.body(Readable.toWeb(stream) as ReadableStream);
    }),
  );

  route.get(
    '/jobs/:id/events',
    edge(async (c) => {
      const job = await needJob(c, jobId(c));
      const after = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0;
      return streamSSE(c, (stream) => followEvents(jobs, job.id, after, stream));
    }),
  );
}

type SSE = Parameters<Parameters<typeof streamSSE>[1]>[0];

/** Sends the job's events after `after` (replayed, then live) until its terminal state or the client leaves. */
async function followEvents(jobs: Jobs, id: string, after: number, stream: SSE): Promise<void> {
  const queue: JobEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = jobs.subscribe(id, (e) => {
    queue.push(e);
    wake?.();
  });
  let closed = false;
  stream.onAbort(() => {
    closed = true;
    wake?.();
  });
  const heartbeat = setInterval(() => {
    void stream.write(': keep-alive\n\n').catch(() => undefined);
  }, 15_000);
  try {
    while (!closed) {
      const e = queue.shift();
      if (!e) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      if (e.seq > after) await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
      if (e.type === 'state' && terminalJobStates.includes(e.state)) break;
    }
  } finally {
    clearInterval(heartbeat);
    unsubscribe();
  }
}
