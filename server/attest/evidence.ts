import { cpus, freemem, release, totalmem, type as osType } from 'node:os';
import { statfs } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { readJsonObject, readTail } from '../bounded-read.ts';
import type { JobOutcome } from '../contracts.ts';
import { hashTree, sha256File } from './hash.ts';
import type { ArtifactMap } from './link.ts';

/** What the platform measured about one job (never reported by the job itself). */
export interface JobEvidence {
  materials: ArtifactMap;
  products: ArtifactMap;
  byproducts: { 'return-value': number; stdout: string; stderr: string };
  byproductHashes: { stdout: string; stderr: string };
  environment: Record<string, string>;
  /** The trainer's metrics.json (size-capped; {} when absent or unreadable): model-card metrics, the TF.js backend. */
  metrics: Record<string, unknown>;
}

/** Byproduct text kept in the link (the end of each log); the full logs are bound by their hashes. */
const MAX_BYPRODUCT_BYTES = 64 * 1024;

/** metrics.json is written by the job: read only when it is at most this size. */
const MAX_METRICS_BYTES = 256 * 1024;

/** GPU name/driver/memory via nvidia-smi when present ('none' otherwise). */
async function gpu(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      'nvidia-smi',
      ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
      { timeout: 5000 },
    );
    return stdout.trim().split('\n').join('; ') || 'none';
  } catch {
    return 'none';
  }
}

/**
 * Streams every input, output and log through SHA-256 and records the platform's environment. Every file is
 * opened without following links (bounded-read.ts): outputs are the regular files under the output directory.
 */
export async function collectEvidence(o: JobOutcome): Promise<JobEvidence> {
  const materials: ArtifactMap = {};
  for (const f of o.inputs) materials[`inputs/${f.name}`] = { sha256: await sha256File(f.path) };
  const products = await hashTree(o.outputDir, 'outputs/');
  // Logs are hashed only as the regular files the runner wrote ('' when absent): never through a link.
  const [stdoutHash, stderrHash] = await Promise.all([
    sha256File(o.stdoutPath).catch(() => ''),
    sha256File(o.stderrPath).catch(() => ''),
  ]);
  const cpu = cpus();
  const metrics = (await readJsonObject(join(o.outputDir, 'metrics.json'), MAX_METRICS_BYTES)) ?? {};
  const backend = typeof metrics.backend === 'string' ? metrics.backend : undefined;
  const fs = await statfs(o.outputDir).catch(() => undefined);
  const environment: Record<string, string> = {
    os: osType(),
    kernel: release(),
    node: process.version,
    cpu_model: cpu[0]?.model ?? 'unknown',
    cpu_count: String(cpu.length),
    memory_total_bytes: String(totalmem()),
    memory_free_bytes: String(freemem()),
    ...(fs ? { disk_total_bytes: String(fs.blocks * fs.bsize), disk_free_bytes: String(fs.bavail * fs.bsize) } : {}),
    gpu: await gpu(),
    runner_kind: o.runner.kind,
    isolated: String(o.runner.isolated),
    ...(o.runner.image ? { image: o.runner.image } : {}),
    ...(o.runner.imageDigest ? { image_digest: o.runner.imageDigest } : {}),
    ...(o.runner.imageId ? { image_id: o.runner.imageId } : {}),
    // Read from the image that ran (its os-release and package databases), not from this host.
    ...(o.imageInventory?.os ? { image_os: o.imageInventory.os.prettyName ?? o.imageInventory.os.id } : {}),
    ...(o.imageInventory ? { image_packages: String(o.imageInventory.packages.length) } : {}),
    ...(o.runner.runtime ? { runtime: o.runner.runtime } : {}),
    ...(backend ? { tfjs_backend: backend } : {}),
    started_at: o.startedAt,
    finished_at: o.finishedAt,
  };
  return {
    materials,
    products,
    byproducts: {
      'return-value': o.exitCode,
      stdout: await readTail(o.stdoutPath, MAX_BYPRODUCT_BYTES),
      stderr: await readTail(o.stderrPath, MAX_BYPRODUCT_BYTES),
    },
    byproductHashes: { stdout: stdoutHash, stderr: stderrHash },
    environment,
    metrics,
  };
}
