/**
 * The create body of a job container: every isolation flag in one place. No host path reaches the container:
 * /input and /output are anonymous volumes the runner fills and empties through the Docker API (putArchive
 * before start, getArchive after exit), /tmp is a tmpfs, and the root filesystem is read-only.
 *
 * Why volumes and not tmpfs for /output: a tmpfs is gone once the container exits (measured with podman 4.3:
 * getArchive of a tmpfs /output after exit returns the empty directory), and the output is read after exit.
 * Why a volume for /input as well: Docker refuses putArchive into a read-only root filesystem unless the
 * target is a volume; the files are owned by root, so the job (user 65534, no capabilities) cannot change them.
 */
import type Docker from 'dockerode';
import type { GpuRequest } from '../../../schema/jobs.ts';

export type { GpuRequest };

/** Label on every job container: recovery finds (and removes) containers a crashed server left behind. */
export const JOB_LABEL = 'io.aibomgen.job';
/** Label on a job's helper containers (the data-access reader): removed with the job's leftovers too. */
export const HELPER_LABEL = 'io.aibomgen.job-helper';
export const JOB_USER = '65534:65534';

/**
 * How an engine's Docker API attaches GPUs: Docker Engine through the nvidia driver's DeviceRequests; podman from
 * 5.4 only through CDI device requests (containers/podman#25171: it ignores the nvidia driver's); podman before
 * 5.4 not at all (it drops DeviceRequests without an error, podman#22645).
 */
export type GpuAttach = 'nvidia' | 'cdi' | 'none';

export function gpuAttachOf(v: { Version?: string; Components?: { Name: string; Version: string }[] }): GpuAttach {
  const podman = v.Components?.find((c) => /podman/i.test(c.Name));
  if (!podman) return 'nvidia';
  const [major = 0, minor = 0] = podman.Version.split('.').map((n) => Number.parseInt(n, 10));
  return major > 5 || (major === 5 && minor >= 4) ? 'cdi' : 'none';
}

/**
 * Docker DeviceRequests for `gpu`: true → every GPU, n → n GPUs, ids → those devices. `cdi`: the same as CDI
 * device names of the NVIDIA spec (`nvidia.com/gpu=all`, `=<index>`, `=<UUID>`; nvidia-ctk names both).
 */
export function deviceRequests(gpu: GpuRequest | undefined, attach: GpuAttach = 'nvidia'): Docker.DeviceRequest[] {
  const ids: string[] | 'all' | undefined =
    gpu === true
      ? 'all'
      : typeof gpu === 'number' && gpu > 0
        ? undefined
        : Array.isArray(gpu) && gpu.length > 0
          ? [...gpu]
          : [];
  const count = typeof gpu === 'number' && gpu > 0 ? Math.floor(gpu) : 0;
  if (attach === 'cdi') {
    const names =
      ids === 'all' ? ['all'] : ids === undefined ? Array.from({ length: count }, (_, i) => String(i)) : ids;
    return names.length ? [{ Driver: 'cdi', DeviceIDs: names.map((n) => `nvidia.com/gpu=${n}`) }] : [];
  }
  const base = { Driver: 'nvidia', Capabilities: [['gpu']] };
  if (ids === 'all') return [{ ...base, Count: -1 }];
  if (ids === undefined) return [{ ...base, Count: count }];
  return ids.length ? [{ ...base, DeviceIDs: ids }] : [];
}

export interface JobContainerOptions {
  jobId: string;
  /** Image reference or id (the platform trainer runs by id: the config digest of what was pushed). */
  image: string;
  command: string[];
  memoryBytes: number;
  cpus: number;
  pids: number;
  gpu?: GpuRequest;
  /** How the engine attaches GPUs (default: the nvidia driver's requests, as Docker Engine takes them). */
  gpuAttach?: GpuAttach;
  /** Most bytes of /tmp (a tmpfs, counted in the container's memory). */
  tmpBytes?: number;
}

export function jobContainerBody(o: JobContainerOptions): Docker.ContainerCreateOptions {
  const devices = deviceRequests(o.gpu, o.gpuAttach);
  return {
    name: `aibomgen-job-${o.jobId}`,
    Image: o.image,
    ...(o.command.length ? { Cmd: o.command } : {}),
    User: JOB_USER,
    WorkingDir: '/output',
    Env: ['HOME=/output', 'NODE_ENV=production'],
    Labels: { [JOB_LABEL]: o.jobId },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Binds: [],
      // Anonymous volumes (empty Source): removed with the container (remove({ v: true })).
      Mounts: [
        { Type: 'volume', Source: '', Target: '/input' },
        { Type: 'volume', Source: '', Target: '/output' },
      ],
      Tmpfs: { '/tmp': `rw,noexec,nosuid,size=${o.tmpBytes ?? 256 * 1024 * 1024}` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: o.memoryBytes,
      MemorySwap: o.memoryBytes,
      NanoCpus: Math.round(o.cpus * 1e9),
      PidsLimit: o.pids,
      // podman refuses nofile without nproc (FACTS.md); both at the engine's lowered defaults.
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'nproc', Soft: 1000, Hard: 1000 },
      ],
      ...(devices.length ? { DeviceRequests: devices } : {}),
    },
  };
}
