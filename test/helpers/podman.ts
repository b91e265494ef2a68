import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

export interface PodmanService {
  socketPath: string;
  docker: Docker;
  stop(): Promise<void>;
}

/**
 * Starts podman's Docker-compatible API service on a private unix socket (a real engine: the docker
 * runner's tests run real containers through it). Needs podman + runc + the containers.conf that
 * scripts/setup.sh writes.
 */
export async function startPodman(): Promise<PodmanService> {
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-podman-'));
  const socketPath = join(dir, 'podman.sock');
  const child: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const docker = new Docker({ socketPath });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`podman system service exited ${child.exitCode}: ${stderr}`);
    if (existsSync(socketPath) && (await docker.ping().then(() => true, () => false))) break;
    if (Date.now() > deadline) throw new Error(`podman API did not answer within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socketPath,
    docker,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
