/**
 * The isolated runner: each job in its own container through the Docker Engine API (dockerode; podman's
 * compatible API works the same), with no path shared between this node and the engine. The platform's
 * trainer runs from its self-contained image by digest (trainer-images.ts); a user's trainer image is pulled
 * from our registry. Inputs go in with putArchive before start, /output comes out with getArchive after
 * exit (job-files.ts), and the image's package databases are read the same way (image-inventory.ts). The
 * isolation flags are in container-spec.ts: no network, read-only root filesystem, no capabilities,
 * no-new-privileges, a non-root user, memory/CPU/pids limits, GPUs through DeviceRequests when asked. Also a
 * wall-clock timeout, kill on cancel, an /output size watch, and the container (and its volumes) always removed.
 */
import { PassThrough, type Readable } from 'node:stream';
import Docker from 'dockerode';
import type { InputAccess, RunnerInfo } from '../../contracts.ts';
import { readInputAccess } from '../../attest/data-access.ts';
import type { OciTarget } from '../../oci/target.ts';
import { gpuAttachOf, HELPER_LABEL, JOB_LABEL, jobContainerBody } from './container-spec.ts';
import { ensureImage } from './engine-image.ts';
import { readImageInventory } from './image-inventory.ts';
import { extractDirectory, ownedDirectory, packDirectory } from './job-files.ts';
import { lineTee } from './lines.ts';
import type { RunResult, RunSpec, Runner } from './port.ts';
import { gpusWanted } from '../../../schema/jobs.ts';
import { decideTrainer, probeModel, type TrainerAuto } from './trainer-choice.ts';
import { TrainerImages, type TrainerImagesOptions } from './trainer-images.ts';
import { guardVolume } from './volume-guard.ts';

export { JOB_LABEL };

export interface DockerRunnerOptions {
  socketPath: string;
  /** The registry in process, as the platform: where the trainer images are pushed and named from. */
  registry: OciTarget;
  /** Host[:port] of the registry, for the image references recorded in RunnerInfo and the AIBoM. */
  registryHost?: () => string;
  /** framework → image tarball builders (default: trainer-images.ts's map). */
  builders?: TrainerImagesOptions['builders'];
  /** "is the image built" probes (default: trainer-images.ts's map). */
  present?: TrainerImagesOptions['present'];
  /** AIBOMGEN_TRAINER_AUTO (default keras): may a TF.js-framework job run on the Keras trainer (trainer-choice.ts). */
  trainerAuto?: TrainerAuto;
}

/** The image a job runs: what to create the container from, and what RunnerInfo records. */
interface JobImage {
  /** Passed to createContainer: the image id for the platform trainer, the reference for a user image. */
  create: string;
  info: Pick<RunnerInfo, 'image' | 'imageDigest' | 'imageId' | 'command' | 'trainer' | 'framework' | 'trainerChoice'>;
}

export class DockerRunner implements Runner {
  readonly kind = 'docker' as const;
  readonly docker: Docker;
  readonly trainers: TrainerImages;
  private runtime?: string;
  private readonly trainerAuto: TrainerAuto;

  constructor(o: DockerRunnerOptions) {
    this.trainerAuto = o.trainerAuto ?? 'keras';
    this.docker = new Docker({ socketPath: o.socketPath });
    this.trainers = new TrainerImages({
      docker: this.docker,
      registry: o.registry,
      ...(o.registryHost ? { registryHost: o.registryHost } : {}),
      ...(o.builders ? { builders: o.builders } : {}),
      ...(o.present ? { present: o.present } : {}),
    });
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

  private async jobImage(spec: RunSpec, runtime: string): Promise<JobImage> {
    if (spec.image) {
      const inspected = await ensureImage(this.docker, runtime, spec.image);
      return {
        create: spec.image,
        info: {
          image: spec.image,
          imageDigest: inspected.RepoDigests?.[0]?.split('@')[1] ?? inspected.Id,
          imageId: inspected.Id,
          command: spec.command ?? [],
          trainer: 'image',
        },
      };
    }
    // The runner decides which platform trainer runs (trainer-choice.ts); the job's record says what it decided.
    const requested = spec.framework ?? 'tfjs';
    const auto = spec.trainerAuto ?? this.trainerAuto;
    const model = requested === 'tfjs' && auto !== 'off' ? await probeModel(spec.inputDir) : undefined;
    const decide = (imagePresent: boolean) =>
      decideTrainer({ requested, auto, model: model ?? { kind: 'tfjs' }, imagePresent });
    let choice = decide(true);
    if (choice.choice === 'auto') choice = decide(await this.trainers.present('keras'));
    if (requested === 'tfjs') spec.onNote?.(choice.reason);
    const t = await this.trainers.resolve(choice.framework);
    return {
      create: t.imageId,
      info: {
        image: t.ref,
        imageDigest: t.manifestDigest,
        imageId: t.imageId,
        command: [
          ...t.command,
          '--input',
          '/input',
          '--output',
          '/output',
          ...(choice.choice === 'auto' ? ['--trainer-choice', 'auto'] : []),
        ],
        trainer: 'platform',
        framework: choice.framework,
        trainerChoice: choice.choice,
      },
    };
  }

  async run(spec: RunSpec): Promise<RunResult> {
    const runtime = await this.describeRuntime();
    // A GPU the engine would silently not attach is refused: the job would run on CPU while it asked for GPUs.
    const gpuAttach = gpuAttachOf(await this.docker.version());
    if (gpusWanted(spec.gpu ?? false) > 0 && gpuAttach === 'none')
      throw new Error(
        `this worker's engine (${runtime}) cannot attach GPUs through its Docker API (podman before 5.4 drops ` +
          'DeviceRequests); run GPU jobs on Docker Engine or podman 5.4+ with an NVIDIA CDI spec',
      );
    const img = await this.jobImage(spec, runtime);
    const runner: RunnerInfo = { kind: 'docker', isolated: true, runtime, ...img.info };
    const container = await this.docker.createContainer(
      jobContainerBody({
        jobId: spec.jobId,
        image: img.create,
        command: img.info.command,
        memoryBytes: spec.memoryBytes,
        cpus: spec.cpus,
        pids: spec.pids,
        gpu: spec.gpu,
        gpuAttach,
      }),
    );
    const out = lineTee(spec.stdoutPath, spec.logBytes, spec.onStdoutLine);
    const err = lineTee(spec.stderrPath, spec.logBytes);
    let timedOut = false;
    let cancelled = false;
    let outputOver: number | undefined;
    const kill = (): void => {
      void container.kill().catch(() => undefined);
    };
    const onAbort = (): void => {
      cancelled = true;
      kill();
    };
    let timer: NodeJS.Timeout | undefined;
    let guard: { stop(): void } | undefined;
    try {
      const inspected = await container.inspect();
      // What runs is what was recorded: the container's image id must be the one named in RunnerInfo.
      if (runner.imageId && inspected.Image !== runner.imageId)
        throw new Error(`the engine created the job from image ${inspected.Image}, not ${runner.imageId}`);
      await container.putArchive(packDirectory(spec.inputDir), { path: '/input' });
      if (runtime.startsWith('podman ')) await container.putArchive(ownedDirectory(65534, 'output/'), { path: '/' });
      else await container.putArchive(ownedDirectory(65534), { path: '/output' });
      const volume = (inspected.Mounts as { Name?: string; Destination: string }[]).find(
        (m) => m.Destination === '/output',
      )?.Name;
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
      if (spec.outputBytes !== undefined && volume)
        guard = guardVolume(this.docker, volume, spec.outputBytes, (n) => {
          outputOver = n;
          kill();
        });
      const waited = (await container.wait()) as { StatusCode: number };
      guard?.stop();
      // The attach stream may still hold the last lines: let it drain (bounded, the container is gone).
      await Promise.race([streamEnded, new Promise((r) => setTimeout(r, 2000))]);
      o.end();
      e.end();
      await Promise.all([out.done, err.done]);
      const result: RunResult = { exitCode: waited.StatusCode, timedOut, cancelled, runner };
      if (outputOver !== undefined) return { ...result, outputOver };
      if (cancelled || timedOut) return result;
      const copied = await extractDirectory(
        (await container.getArchive({ path: '/output' })) as Readable,
        spec.outputDir,
        spec.outputBytes ?? Number.POSITIVE_INFINITY,
      );
      if (copied.over) return { ...result, outputOver: copied.bytes };
      const inventory = await readImageInventory(container);
      const inputAccess = await this.inputAccess(spec.jobId, inspected.Mounts);
      return {
        ...result,
        inventory,
        ...(inputAccess ? { inputAccess } : {}),
        ...(copied.special.length ? { special: copied.special } : {}),
      };
    } finally {
      clearTimeout(timer);
      guard?.stop();
      spec.signal.removeEventListener('abort', onAbort);
      if (!out.stream.writableEnded) out.stream.end();
      if (!err.stream.writableEnded) err.stream.end();
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  /**
   * The data-access record of an exited job (server/attest/data-access.ts), read from its /input volume by a
   * helper of the platform's own trainer image; undefined when it cannot be read (the job then has no record).
   */
  private async inputAccess(jobId: string, mounts: unknown): Promise<InputAccess | undefined> {
    const inputVolume = (mounts as { Name?: string; Destination: string }[]).find(
      (m) => m.Destination === '/input',
    )?.Name;
    if (!inputVolume) return undefined;
    try {
      const t = await this.trainers.resolve('tfjs');
      return await readInputAccess(this.docker, {
        inputVolume,
        image: t.imageId,
        node: t.command[0]!,
        labels: { [HELPER_LABEL]: jobId },
      });
    } catch {
      return undefined;
    }
  }

  async cleanup(jobs: { jobId: string }[]): Promise<void> {
    const ids = new Set(jobs.map((j) => j.jobId));
    // Helpers first: one still mounting the job's /input volume would keep that volume from being removed.
    const list = [
      ...(await this.docker.listContainers({ all: true, filters: { label: [HELPER_LABEL] } })),
      ...(await this.docker.listContainers({ all: true, filters: { label: [JOB_LABEL] } })),
    ];
    for (const c of list) {
      const job = c.Labels?.[JOB_LABEL] ?? c.Labels?.[HELPER_LABEL];
      // Every job (or helper) container not owned by a live run of this server is a leftover of a crash.
      if (job && ids.has(job))
        await this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined);
    }
  }

  async close(): Promise<void> {}
}
