import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';

/** A real S3 server on loopback: SeaweedFS (built by scripts/setup.sh into .tools/bin/weed) with its S3 gateway. */
export interface S3Server {
  /** The S3 endpoint, e.g. http://127.0.0.1:41234 (path-style addressing, no credentials checked). */
  endpoint: string;
  bucket: string;
  /** Where SeaweedFS keeps its volumes (the store's bytes on disk). */
  dataDir: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Starts `weed server` (master, volume, filer and S3 gateway in one process) on free loopback ports, with a fresh
 * data directory, no telemetry and none of its optional catalogs, and creates `bucket`.
 */
export async function startS3(bucket = 'registry'): Promise<S3Server> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aibomgen-s3-'));
  const ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
  const [s3, s3Grpc, master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, metrics] = ports as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const child = spawn(
    process.env.WEED_BIN ?? 'weed',
    [
      'server',
      `-dir=${dataDir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      '-master.telemetry=false',
      '-master.volumeSizeLimitMB=2048',
      '-volume.max=16',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      `-metricsPort=${metrics}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let log = '';
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e; // e.g. ENOENT: scripts/setup.sh builds weed into .tools/bin
  });
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${s3}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    // The gateway answers before the filer has volumes: creating the bucket is the readiness check.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (spawnError) throw new Error(`cannot start weed (SeaweedFS): ${spawnError.message}`);
      if (child.exitCode !== null) throw new Error(`weed exited with ${child.exitCode}: ${log}`);
      const res = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' }).catch(() => undefined);
      await res?.arrayBuffer();
      if (res && (res.status === 200 || res.status === 409)) break;
      if (Date.now() > deadline) throw new Error(`SeaweedFS S3 did not create bucket ${bucket} within 60 s: ${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, bucket, dataDir, stop };
}
