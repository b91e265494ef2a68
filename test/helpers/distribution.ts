import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from './net.ts';
import type { S3Server } from './s3.ts';

export interface Distribution {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  hostPort: string;
  /** The registry's storage root (and config file), removed by stop(). */
  rootDir: string;
  /** The registry process (benchmarks read its CPU time from /proc). */
  pid: number;
  stop(): Promise<void>;
}

const configFile = new URL('../../registry-config/config.yml', import.meta.url);
const s3ConfigFile = new URL('../../registry-config/s3.yml', import.meta.url);

export interface DistributionOptions {
  bin?: string;
  /** Store on this S3 server (registry-config/s3.yml) instead of the filesystem (registry-config/config.yml). */
  s3?: S3Server;
}

/**
 * Starts a real CNCF distribution registry (Debian's `docker-registry` 2.8) on a free loopback port with a
 * fresh storage directory. The config is registry-config/config.yml (or s3.yml) with only the address and the
 * storage location replaced, so tests run what a deployment runs.
 */
export async function startDistribution(opts: DistributionOptions = {}): Promise<Distribution> {
  const bin = opts.bin ?? process.env.DOCKER_REGISTRY_BIN ?? 'docker-registry';
  const rootDir = await mkdtemp(join(tmpdir(), 'aibomgen-distribution-'));
  const port = await freePort();
  const env = { ...process.env };
  let config: { http: { addr: string }; storage: Record<string, Record<string, unknown>> };
  if (opts.s3) {
    // registry-config/s3.yml with the endpoint and bucket replaced; keys from the environment, as deployed.
    config = parse(await readFile(s3ConfigFile, 'utf8')) as typeof config;
    Object.assign(config.storage.s3!, { regionendpoint: opts.s3.endpoint, bucket: opts.s3.bucket });
    Object.assign(env, {
      REGISTRY_STORAGE_S3_ACCESSKEY: 'aibomgen-test',
      REGISTRY_STORAGE_S3_SECRETKEY: 'not-checked',
    });
    // distribution 2.8's AWS SDK refuses to start when AWS_CA_BUNDLE is set (LoadCustomCABundleError).
    delete env.AWS_CA_BUNDLE;
  } else {
    config = parse(await readFile(configFile, 'utf8')) as typeof config;
    config.storage.filesystem!.rootdirectory = join(rootDir, 'storage');
  }
  config.http.addr = `127.0.0.1:${port}`;
  const cfgPath = join(rootDir, 'config.yml');
  await writeFile(cfgPath, stringify(config));
  const child = spawn(bin, ['serve', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'], env });
  running.set(child, rootDir);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await kill(child);
    await rm(rootDir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, hostPort: `127.0.0.1:${port}`, rootDir, pid: child.pid!, stop };
}

/** Registries still running when this process exits (a test that crashed before stop()) go with it. */
const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [c, dir] of running) {
    c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer GET /v2/ within 15 s: ${log()}`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
