/**
 * The platform's own trainer images, one per framework: each is an image tarball built offline (see
 * trainer/image/), loaded into the engine through the Docker API and pushed to this platform's registry
 * (`aibomgen/trainers/<framework>`, the internal namespace), so the job runs BY DIGEST: the engine runs the
 * image whose id is the config digest of the manifest in our registry, and the AIBoM names that manifest.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type Docker from 'dockerode';
import type { TrainerFramework } from '../../../schema/jobs.ts';
import { ensureTfjsTrainerImage } from '../../../trainer/image/build-image.ts';
import { ensureKerasTrainerImage, kerasTrainerImagePresent } from '../../../trainer/image/keras-image.ts';
import type { OciTarget } from '../../oci/target.ts';
import { INTERNAL_NAMESPACE } from '../input-transfer.ts';
import { pushImageArchive } from './image-push.ts';

export type { TrainerFramework };

/** An image tarball on disk and how to start the trainer in it (append `--input /input --output /output`). */
export interface TrainerImageTarball {
  path: string;
  command: string[];
}

/**
 * framework → builder of its image tarball (idempotent: rebuilt only when its inputs changed).
 */
export const TRAINER_IMAGE_BUILDERS: Partial<Record<TrainerFramework, () => Promise<TrainerImageTarball>>> = {
  tfjs: ensureTfjsTrainerImage,
  keras: ensureKerasTrainerImage,
};

/**
 * framework → whether its image is already built here, without building it (the automatic trainer choice only
 * uses an image it finds; the tfjs image is always built with the server, so it needs no probe).
 */
export const TRAINER_IMAGE_PRESENT: Partial<Record<TrainerFramework, () => Promise<boolean>>> = {
  keras: kerasTrainerImagePresent,
};

/** A trainer image ready to run: in the engine and in our registry. */
export interface ResolvedTrainerImage {
  /** `<registry>/aibomgen/trainers/<framework>@sha256:…`: what the AIBoM names. */
  ref: string;
  /** The manifest digest in our registry. */
  manifestDigest: string;
  /** The image id in the engine (= the manifest's config digest): what the container is created from. */
  imageId: string;
  command: string[];
}

export interface TrainerImagesOptions {
  docker: Docker;
  /** The registry in process, as the platform. */
  registry: OciTarget;
  /** Host[:port] the registry is reached at, prefixed to the image reference (omitted when unknown). */
  registryHost?: () => string;
  builders?: Partial<Record<TrainerFramework, () => Promise<TrainerImageTarball>>>;
  /** framework → "is its image built" probes (default: TRAINER_IMAGE_PRESENT). */
  present?: Partial<Record<TrainerFramework, () => Promise<boolean>>>;
}

export class TrainerImages {
  /** One resolution per tarball version (path + size + mtime): a rebuilt tarball is loaded and pushed again. */
  private readonly cache = new Map<string, Promise<ResolvedTrainerImage>>();
  private building: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: TrainerImagesOptions) {}

  /**
   * Whether `framework`'s image can run a job without being built first. An image only loaded in the engine does
   * not count: the job runs it by digest from our registry, which is filled from the tarball.
   */
  async present(framework: TrainerFramework): Promise<boolean> {
    const probe = (this.o.present ?? TRAINER_IMAGE_PRESENT)[framework];
    if (!probe || !(this.o.builders ?? TRAINER_IMAGE_BUILDERS)[framework]) return false; // no way to resolve it
    return probe().catch(() => false);
  }

  async resolve(framework: TrainerFramework): Promise<ResolvedTrainerImage> {
    const build = (this.o.builders ?? TRAINER_IMAGE_BUILDERS)[framework];
    if (!build) throw new Error(`no trainer image is configured for framework ${framework}`);
    // One build at a time in this process (a build of the same inputs in another process is harmless).
    const built = this.building.then(() => build());
    this.building = built.catch(() => undefined);
    const tarball = await built;
    const st = await stat(tarball.path);
    const key = `${tarball.path}:${st.size}:${st.mtimeMs}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.prepare(framework, tarball);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private async prepare(framework: TrainerFramework, tarball: TrainerImageTarball): Promise<ResolvedTrainerImage> {
    const repo = `${INTERNAL_NAMESPACE}/trainers/${framework}`;
    const pushed = await pushImageArchive(this.o.registry, repo, tarball.path, 'latest');
    await this.ensureLoaded(tarball.path, pushed.configDigest);
    const host = this.o.registryHost ? `${this.o.registryHost()}/` : '';
    return {
      ref: `${host}${repo}@${pushed.manifestDigest}`,
      manifestDigest: pushed.manifestDigest,
      imageId: pushed.configDigest,
      command: tarball.command,
    };
  }

  /** Loads the tarball into the engine unless it already has the image; checks the id it reports. */
  private async ensureLoaded(path: string, imageId: string): Promise<void> {
    const have = () =>
      this.o.docker
        .getImage(imageId)
        .inspect()
        .then(
          (i) => i.Id === imageId,
          () => false,
        );
    if (await have()) return;
    const stream = await this.o.docker.loadImage(createReadStream(path));
    let body = '';
    for await (const chunk of stream as AsyncIterable<Buffer>) body += chunk.toString();
    if (!(await have()))
      throw new Error(`the engine did not load ${path} as image ${imageId}: ${body.trim().slice(0, 300)}`);
  }
}
