import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPodmanService, type PodmanService } from '../../server/jobs/runners/podman-service.ts';

export type { PodmanService };

/**
 * Starts podman's Docker-compatible API service on a private unix socket in a temporary directory (a real
 * engine: the docker runner's tests run real containers through it). Needs podman + runc + the
 * containers.conf that scripts/setup.sh writes.
 */
export async function startPodman(): Promise<PodmanService> {
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-podman-'));
  try {
    const svc = await startPodmanService(join(dir, 'podman.sock'));
    return {
      ...svc,
      async stop() {
        await svc.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
