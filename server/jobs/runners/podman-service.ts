import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import Docker from 'dockerode';

export interface PodmanService {
  socketPath: string;
  docker: Docker;
  /** Stops the service (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts podman's Docker-compatible API service (`podman system service`) on a private unix socket and
 * waits until it answers a ping: what the demo runs jobs through when no engine is configured, and what
 * the docker runner's tests run real containers through. Throws (with podman's stderr) when it does not
 * come up within `timeoutMs`.
 */
export async function startPodmanService(socketPath: string, timeoutMs = 30_000): Promise<PodmanService> {
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const docker = new Docker({ socketPath });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`podman system service exited ${child.exitCode}: ${stderr}`);
    if (
      existsSync(socketPath) &&
      (await docker.ping().then(
        () => true,
        () => false,
      ))
    )
      return { socketPath, docker, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`podman's API did not answer within ${timeoutMs / 1000} s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
