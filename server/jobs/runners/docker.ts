/**
 * The isolated runner: each job in its own container through the Docker Engine API (dockerode; podman's
 * compatible API works the same). No network, read-only root filesystem, inputs read-only at /input,
 * /output the only writable bind, no capabilities, no-new-privileges, a non-root user, memory/CPU/pids
 * limits, GPU through DeviceRequests when asked, a wall-clock timeout, kill on cancel, and the container is
 * always removed.
 */
import { chmod } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import type { RunnerInfo } from '../../contracts.ts';
import { lineTee } from './lines.ts';
import type { RunResult, RunSpec, Runner } from './port.ts';

/** Label on every job container: recovery finds (and removes) containers a crashed server left behind. */
export const JOB_LABEL = 'io.aibomgen.job';

/** The platform's own trainer: image, read-only binds and argv (see trainer/image/spec.ts). */
export interface TrainerLaunch {
  image: string;
  binds: string[];
  command: string[];
  user: string;
}

export interface DockerRunnerOptions {
  socketPath: string;
  /** Resolves (and builds on first use) the platform trainer's image and binds. */
  trainer: () => Promise<TrainerLaunch>;
}

export class DockerRunner implements Runner {
  readonly kind = 'docker' as const;
  readonly docker: Docker;
  private runtime?: string;

  constructor(private readonly o: DockerRunnerOptions) {
    this.docker = new Docker({ socketPath: o.socketPath });
  }

  /** "podman 4.3.1 (Docker API 1.41)" or "docker 27.1.0 (API 1.46)": recorded in the AIBoM. */
  async describeRuntime(): Promise<string> {
    if (this.runtime) return this.runtime;
    const v = await this.docker.version();
    const podman = v.Components?.find((c) => /podman/i.test(c.Name));
    this.runtime = podman
      ? `podman ${podman.Version} (Docker API ${v.ApiVersion})`
      : `docker ${v.Version} (API ${v.ApiVersion})`;
    return this.runtime;
  }

  async run(spec: RunSpec): Promise<RunResult> {
    const runtime = await this.describeRuntime();
    const trainer = spec.image ? undefined : await this.o.trainer();
    const image = spec.image ?? trainer!.image;
    const command = spec.image
      ? (spec.command ?? [])
      : [...trainer!.command, '--input', '/input', '--output', '/output'];
    const inspected = await this.ensureImage(image);
    const runner: RunnerInfo = {
      kind: 'docker',
      isolated: true,
      image,
      imageDigest: inspected.RepoDigests?.[0]?.split('@')[1] ?? inspected.Id,
      runtime,
      command,
    };
    // The container runs as an unprivileged user: it must be able to write /output and nothing else.
    await chmod(spec.outputDir, 0o777);

    const container = await this.docker.createContainer({
      name: `aibomgen-job-${spec.jobId}`,
      Image: image,
      ...(command.length ? { Cmd: command } : {}),
      User: trainer?.user ?? '65534:65534',
      WorkingDir: '/output',
      Env: ['HOME=/output', 'NODE_ENV=production'],
      Labels: { [JOB_LABEL]: spec.jobId },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Binds: [...(trainer?.binds ?? []), `${spec.inputDir}:/input:ro`, `${spec.outputDir}:/output:rw`],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: spec.memoryBytes,
        MemorySwap: spec.memoryBytes,
        NanoCpus: Math.round(spec.cpus * 1e9),
        PidsLimit: spec.pids,
        // podman refuses nofile without nproc (FACTS.md); both at the engine's lowered defaults.
        Ulimits: [
          { Name: 'nofile', Soft: 1024, Hard: 1024 },
          { Name: 'nproc', Soft: 1000, Hard: 1000 },
        ],
        ...(spec.gpu ? { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] } : {}),
      },
    });
    const out = lineTee(spec.stdoutPath, spec.logBytes, spec.onStdoutLine);
    const err = lineTee(spec.stderrPath, spec.logBytes);
    let timedOut = false;
    let cancelled = false;
    const kill = (): void => {
      void container.kill().catch(() => undefined);
    };
    const onAbort = (): void => {
      cancelled = true;
      kill();
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const o = new PassThrough();
      const e = new PassThrough();
      this.docker.modem.demuxStream(stream, o, e);
      o.pipe(out.stream);
      e.pipe(err.stream);
      const streamEnded = new Promise<void>((r) => {
        stream.on('end', r);
        stream.on('close', r);
        stream.on('error', () => r());
      });
      spec.signal.addEventListener('abort', onAbort, { once: true });
      await container.start();
      if (spec.signal.aborted) onAbort();
      timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, spec.timeoutMs);
      const waited = (await container.wait()) as { StatusCode: number };
      // The attach stream may still hold the last lines: let it drain (bounded, the container is gone).
      await Promise.race([streamEnded, new Promise((r) => setTimeout(r, 2000))]);
      o.end();
      e.end();
      await Promise.all([out.done, err.done]);
      return { exitCode: waited.StatusCode, timedOut, cancelled, runner };
    } finally {
      clearTimeout(timer);
      spec.signal.removeEventListener('abort', onAbort);
      if (!out.stream.writableEnded) out.stream.end();
      if (!err.stream.writableEnded) err.stream.end();
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /** The image's inspect data, pulling it first when the engine lacks it (e.g. a trainer image in our registry). */
  private async ensureImage(image: string): Promise<Docker.ImageInspectInfo> {
    const have = await this.docker
      .getImage(image)
      .inspect()
      .catch(() => undefined);
    if (have) return have;
    const registry = image.includes('/') ? image.split('/')[0]! : '';
    // A loopback registry (this platform on 127.0.0.1) speaks plain HTTP; Docker allows that for 127.0.0.0/8
    // by default, podman needs tlsVerify=false on its own pull endpoint.
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(registry);
    const podman = /^podman (\S+)/.exec(await this.describeRuntime())?.[1];
    // libpod routes need the version prefix (an unversioned /libpod/… answers 404).
    // docker-modem builds the query from `options` (a path ending in '?' marks where it goes).
    const [path, options] = podman
      ? [`/v${podman}/libpod/images/pull?`, { reference: image, tlsVerify: String(!loopback) }]
      : ['/images/create?', { fromImage: image }];
    const body = await new Promise<string>((resolve) => {
      this.docker.modem.dial(
        {
          path,
          options,
          method: 'POST',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such image', 500: 'server error' },
        },
        (err, stream) => {
          if (err)
            return resolve(
              String((err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? err),
            );
          let text = '';
          const s = stream as NodeJS.ReadableStream;
          s.on('data', (d: Buffer) => (text += d.toString()));
          s.on('end', () => resolve(text));
          s.on('error', (e) => resolve(String(e)));
        },
      );
    });
    // Pull failures are reported inside the progress stream, not as an HTTP error (FACTS.md).
    const pulled = await this.docker
      .getImage(image)
      .inspect()
      .catch(() => undefined);
    if (!pulled)
      throw new Error(
        `image ${image} could not be pulled: ${(/"error(?:Message)?"\s*:\s*"([^"]+)"/.exec(body)?.[1] ?? body.slice(0, 300)).trim()}`,
      );
    return pulled;
  }

  async cleanup(jobs: { jobId: string }[]): Promise<void> {
    const ids = new Set(jobs.map((j) => j.jobId));
    const list = await this.docker.listContainers({ all: true, filters: { label: [JOB_LABEL] } });
    for (const c of list) {
      const job = c.Labels?.[JOB_LABEL];
      // Every job container not owned by a live run of this server is a leftover of a crash.
      if (job && ids.has(job))
        await this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
  }

  async close(): Promise<void> {}
}
