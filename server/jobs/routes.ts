/**
 * The seed's developer API (/developer/*): submit by model+data or by image, status, paged list, cancel,
 * artifacts (listed and streamed), logs, and live events over Server-Sent Events.
 */
import { createReadStream, existsSync } from 'node:fs';
import { lstat, realpath, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { ArtifactListResponse, JobListResponse, JobResponse } from '../../schema/api.ts';
import { Annotation } from '../../schema/media-types.ts';
import { HttpError } from '../api-error.ts';
import { listFiles, sha256File } from '../attest/hash.ts';
import { parseManifest } from '../lineage/manifest.ts';
import type { Auth } from '../auth.ts';
import type { AppEnv, Services } from '../context.ts';
import { terminalJobStates, type JobEvent, type JobState, type JobView } from '../contracts.ts';
import { prepareImageJob, prepareModelJob } from './prepare.ts';
import { CancelRefused, isJobId, jobDir, type Jobs } from './service.ts';
import { receiveMultipart } from './uploads.ts';

const jobStates = ['queued', 'running', 'attesting', 'publishing', 'succeeded', 'failed', 'cancelled'] as const;
const listQuery = z.object({
  owner: z.string().min(1).max(255).optional(),
  state: z.enum(jobStates).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().max(512).optional(),
});

export function toResponse(v: JobView): JobResponse {
  return { job_id: v.id, status: v.state, ...v };
}

/**
 * Regular files of a job's output (listFiles skips symlinks: a job's output is untrusted) with sizes.
 * Their sha256 is cached by path+size+mtime: listing is frequent and the files do not change after a run.
 */
async function listArtifacts(root: string): Promise<{ name: string; path: string; size: number }[]> {
  const names = await listFiles(root).catch(() => [] as string[]);
  const visible = names.filter((n) => !n.split('/').some((p) => p.startsWith('.')));
  return Promise.all(
    visible.map(async (name) => {
      const path = join(root, ...name.split('/'));
      return { name, path, size: (await lstat(path)).size };
    }),
  );
}

/**
 * The output files of a job this node did not run (a worker on another host did): every output file is a
 * layer of the model it published, titled with its path. Undefined when the job published nothing.
 */
async function publishedArtifacts(s: Services, job: JobView): Promise<{ name: string; size: number; digest: string }[] | undefined> {
  const p = job.publication;
  const m = p ? await s.store.getManifest(p.repository, p.digest) : null;
  if (!p || !m) return undefined;
  return (parseManifest(m.bytes)?.layers ?? []).flatMap((l) => {
    const name = l.annotations?.[Annotation.title];
    return name && l.digest ? [{ name, size: l.size ?? 0, digest: l.digest }] : [];
  });
}

const digestCache = new Map<string, string>();
async function fileDigest(path: string): Promise<string> {
  const st = await lstat(path);
  const key = `${path}|${st.size}|${st.mtimeMs}`;
  let d = digestCache.get(key);
  if (!d) {
    d = `sha256:${await sha256File(path)}`;
    if (digestCache.size > 10_000) digestCache.clear();
    digestCache.set(key, d);
  }
  return d;
}

export function mountJobRoutes(app: Hono<AppEnv>, s: Services, jobs: Jobs, auth: Auth): void {
  const limits = { fileBytes: s.config.maxUploadBytes, requestBytes: s.config.maxRequestBytes };
  const route = app.basePath('/developer');
  // With auth on, every developer route needs a valid token (reads too: job records name inputs and owners).
  app.use('/developer/*', async (c, next) => {
    auth.ownerOf(c);
    await next();
  });

  const needJob = async (id: string): Promise<JobView> => {
    const job = isJobId(id) ? await jobs.get(id) : null;
    if (!job) throw new HttpError(404, 'not_found', `job ${id} does not exist`);
    return job;
  };

  /** Receives, validates and lays out an upload; on any refusal the job dir is removed whole. */
  const submit = async (
    c: Context<AppEnv>,
    prepare: (dir: string, mp: Awaited<ReturnType<typeof receiveMultipart>>) => Promise<Parameters<Jobs['submit']>[0]>,
  ): Promise<Response> => {
    const owner = auth.ownerOf(c);
    const declared = Number(c.req.header('content-length') ?? 0);
    if (declared > limits.requestBytes) throw new HttpError(413, 'payload_too_large', `the request is larger than the limit of ${limits.requestBytes} bytes`);
    const id = crypto.randomUUID();
    const dir = jobDir(s.config.dataDir, id);
    try {
      const mp = await receiveMultipart(c.req.raw.body, c.req.header('content-type'), join(dir, 'uploads'), limits);
      const input = await prepare(dir, mp);
      const view = await jobs.submit({ ...input, id, owner });
      return c.json(toResponse(view), 202);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  };

  route.post('/submit_job_by_model_and_data', (c) =>
    submit(c, async (dir, mp) => {
      const p = await prepareModelJob(mp, join(dir, 'input'));
      return { owner: '', framework: p.framework, files: p.files, params: p.params, metadata: p.metadata, ...(mp.fields.gpu === 'true' ? { gpu: true } : {}) };
    }),
  );

  route.post('/submit_job_by_image', (c) =>
    submit(c, async (dir, mp) => {
      const p = await prepareImageJob(mp, join(dir, 'input'));
      if (jobs.runnerKind !== 'docker') throw new HttpError(422, 'unsupported_runner', 'this server has no container engine: image jobs need the docker runner (AIBOMGEN_RUNNER=docker)');
      return { owner: '', framework: p.framework, files: p.files, params: {}, metadata: p.metadata, image: p.image, ...(p.command ? { command: p.command } : {}) };
    }),
  );

  route.get('/job_status/:id', async (c) => c.json(toResponse(await needJob(c.req.param('id')))));

  route.get('/jobs', async (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) throw new HttpError(400, 'invalid_request', 'invalid query', q.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
    const page = await jobs.list({ ...q.data, ...(q.data.state ? { state: q.data.state as JobState } : {}) });
    const body: JobListResponse = { items: page.items.map(toResponse), ...(page.next ? { next: page.next } : {}) };
    return c.json(body);
  });

  route.post('/jobs/:id/cancel', async (c) => {
    auth.ownerOf(c);
    await needJob(c.req.param('id'));
    try {
      const v = await jobs.cancel(c.req.param('id'));
      return c.json(toResponse(v!));
    } catch (e) {
      if (e instanceof CancelRefused) throw new HttpError(409, 'conflict', e.message);
      throw e;
    }
  });

  route.get('/job_artifacts/:id', async (c) => {
    const job = await needJob(c.req.param('id'));
    const root = join(jobDir(s.config.dataDir, job.id), 'output');
    const remote = existsSync(root) ? undefined : await publishedArtifacts(s, job);
    if (remote) return c.json({ job_id: job.id, artifacts: remote } satisfies ArtifactListResponse);
    // Artifacts of a run in progress are not final (and of a cut-off run are gone): only settled states list.
    const files = terminalJobStates.includes(job.state) || job.state === 'attesting' || job.state === 'publishing' ? await listArtifacts(root) : [];
    const body: ArtifactListResponse = { job_id: job.id, artifacts: await Promise.all(files.map(async (f) => ({ name: f.name, size: f.size, digest: await fileDigest(f.path) }))) };
    return c.json(body);
  });

  route.get('/job_artifacts/:id/*', async (c) => {
    const job = await needJob(c.req.param('id'));
    const name = decodeURIComponent(c.req.path.slice(`/developer/job_artifacts/${job.id}/`.length));
    const root = join(jobDir(s.config.dataDir, job.id), 'output');
    if (!name || name.split('/').some((p) => p === '..' || p === '' || p.startsWith('.'))) throw new HttpError(400, 'invalid_request', `invalid artifact name "${name}"`);
    const disposition = `attachment; filename="${name.split('/').pop()!.replace(/"/g, '')}"`;
    if (!existsSync(root)) {
      // Run on another node: the file as the published model holds it.
      const layer = (await publishedArtifacts(s, job))?.find((a) => a.name === name);
      const blob = layer && job.publication ? await s.store.readBlob(job.publication.repository, layer.digest) : null;
      if (!blob) throw new HttpError(404, 'not_found', `job ${job.id} has no artifact ${name}`);
      c.header('Content-Type', 'application/octet-stream');
      c.header('Content-Length', String(blob.size));
      c.header('Content-Disposition', disposition);
      return c.body(Readable.toWeb(blob.body) as ReadableStream);
    }
    const path = join(root, ...name.split('/'));
    const st = await lstat(path).catch(() => undefined);
    // No symlinks: a job could point one at a host file. The real path must stay inside the output dir.
    if (!st?.isFile() || !(await realpath(path)).startsWith((await realpath(root)) + sep)) throw new HttpError(404, 'not_found', `job ${job.id} has no artifact ${name}`);
    c.header('Content-Type', 'application/octet-stream');
    c.header('Content-Length', String(st.size));
    c.header('Content-Disposition', disposition);
    return c.body(Readable.toWeb(createReadStream(path)) as ReadableStream);
  });

  route.get('/jobs/:id/logs', async (c) => {
    const job = await needJob(c.req.param('id'));
    const dir = jobDir(s.config.dataDir, job.id);
    const parts: string[] = [];
    for (const f of ['stdout.log', 'stderr.log']) {
      const st = await lstat(join(dir, f)).catch(() => undefined);
      if (st?.isFile()) parts.push(join(dir, f));
    }
    c.header('Content-Type', 'text/plain; charset=utf-8');
    if (parts.length === 0 && job.state !== 'queued') {
      // Run by another node (a worker on another host): its log files are there; the lines it stored as events are here.
      const lines = await jobs.storedLogLines(job.id);
      return c.text([`[aibomgen: no log files of job ${job.id} on this node (another node ran it): its log lines as stored in the job's events]`, ...lines, ''].join('\n'));
    }
    const stream = Readable.from(
      (async function* () {
        for (const p of parts) for await (const chunk of createReadStream(p)) yield chunk as Buffer;
      })(),
    );
    return c.body(Readable.toWeb(stream) as ReadableStream);
  });

  route.get('/jobs/:id/events', async (c) => {
    const job = await needJob(c.req.param('id'));
    const after = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      const queue: JobEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = jobs.subscribe(job.id, (e) => {
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
    });
  });
}
