/** Shared by the trainer-image tests: reading a published AIBoM, and watching a job's container while it exists. */
import type Docker from 'dockerode';
import type { JobResponse } from '../../schema/api.ts';
import { PLATFORM } from '../../server/identity.ts';
import { JOB_LABEL } from '../../server/jobs/runners/docker.ts';
import type { TestServer } from '../helpers/server.ts';

export interface AibomComponent {
  'bom-ref'?: string;
  type: string;
  name: string;
  version?: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
  properties?: { name: string; value: string }[];
}

/** The AIBoM the platform published for `job`, read from its registry (the AIBoM referrer's layer). */
export async function publishedAibom(server: TestServer, job: JobResponse): Promise<{ components: AibomComponent[] }> {
  const oci = server.services.registry.as(PLATFORM);
  const ref = job.publication?.attestations.find((a) => a.kind === 'aibom');
  if (!job.publication || !ref) throw new Error(`job ${job.job_id} has no AIBoM: ${JSON.stringify(job.publication)}`);
  const m = await oci.getManifest(job.publication.repository, ref.digest);
  const doc = JSON.parse(Buffer.from(m!.bytes).toString('utf8')) as {
    layers: { digest: string; annotations?: Record<string, string> }[];
  };
  const layer = doc.layers.find((l) => l.annotations?.['org.opencontainers.image.title']?.endsWith('.json'));
  const bytes = await oci.fetchBlob(job.publication.repository, (layer ?? doc.layers[0]!).digest);
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as { components: AibomComponent[] };
}

/**
 * Inspects every container of job `jobId` while it exists (polled from now until `until` settles): the job's
 * container is removed right after its run, so the test looks at it while the trainer runs.
 */
export async function inspectWhileRunning<T>(
  docker: Docker,
  jobId: string,
  until: Promise<T>,
  look?: (c: Docker.Container, info: Docker.ContainerInspectInfo) => Promise<void>,
): Promise<{ result: T; seen: Docker.ContainerInspectInfo[] }> {
  const seen = new Map<string, Docker.ContainerInspectInfo>();
  let done = false;
  const result = until.finally(() => (done = true));
  while (!done) {
    const list = await docker.listContainers({ all: true, filters: { label: [`${JOB_LABEL}=${jobId}`] } });
    for (const c of list) {
      if (seen.has(c.Id)) continue;
      const container = docker.getContainer(c.Id);
      const info = await container.inspect().catch(() => undefined);
      if (!info?.State.Running) continue;
      seen.set(c.Id, info);
      await look?.(container, info).catch((err: unknown) => {
        throw new Error(`looking at the running container: ${(err as Error).message}`);
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { result: await result, seen: [...seen.values()] };
}
