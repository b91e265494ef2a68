/**
 * Attest overhead and hashing speed.
 *  1. Platform overhead for one job (evidence hashing + AIBoM + link + DSSE signing + push of model, inputs and
 *     referrers to a real distribution registry), in seconds and as % of the trainer time (TRAINER_SECONDS,
 *     default 60: the ~60 s job the targets are stated for).
 *  2. Streaming SHA-256 (1 MiB reads) vs `sha256sum` on the same file (BENCH_HASH_MIB, default 1024), as a ratio.
 * Prints peak RSS. Run: node --import tsx bench/attest/run.ts
 *      node --import tsx bench/attest/run.ts --smoke   # 16 MiB hashed: the whole path, no meaningful figures
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../server/attest/hash.ts';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import type { JobOutcome } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { startDistribution } from '../../test/helpers/distribution.ts';

// --smoke (test/bench): the same publications; only the hashing file shrinks (the job is small already).
const smoke = process.argv.includes('--smoke');
const trainerSeconds = Number(process.env.TRAINER_SECONDS ?? 60);
const hashMiB = Number(process.env.BENCH_HASH_MIB ?? (smoke ? 16 : 1024));
const dir = mkdtempSync(join(tmpdir(), 'bench-attest-'));

try {
  // --- 1. overhead
  // The same distribution registry the tests start (registry-config/config.yml), waited for until it answers.
  const reg = await startDistribution();
  try {
    // Where the loadKey below reads the platform key (initKeys takes the keys directory itself).
    await initKeys(keysDir(dir));
    const job = join(dir, 'job');
    mkdirSync(join(job, 'out', 'model'), { recursive: true });
    mkdirSync(join(job, 'in'), { recursive: true });
    // A typical small job: 4 MiB dataset, 2 MiB weights, topology, metrics, logs.
    writeFileSync(join(job, 'in', 'data.csv'), randomBytes(4 << 20));
    writeFileSync(join(job, 'out', 'model', 'weights.bin'), randomBytes(2 << 20));
    writeFileSync(
      join(job, 'out', 'model', 'model.json'),
      JSON.stringify({ modelTopology: { layers: Array.from({ length: 50 }, (_, i) => ({ i })) } }),
    );
    writeFileSync(join(job, 'out', 'metrics.json'), JSON.stringify({ backend: 'wasm', loss: 0.1, accuracy: 0.97 }));
    writeFileSync(join(job, 'stdout'), 'epoch\n'.repeat(1000));
    writeFileSync(join(job, 'stderr'), '');
    const outcome = (id: string): JobOutcome => ({
      jobId: id,
      owner: 'bench',
      framework: 'tfjs',
      params: { epochs: 10 },
      metadata: { model_name: 'bench', model_version: id },
      inputs: [{ role: 'dataset', name: 'data.csv', path: join(job, 'in', 'data.csv'), digest: '', size: 4 << 20 }],
      outputDir: join(job, 'out'),
      stdoutPath: join(job, 'stdout'),
      stderrPath: join(job, 'stderr'),
      exitCode: 0,
      runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
      queuedAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
    });
    const publisher = createPublisher({
      target: new OciClient(reg.url),
      registryHost: reg.hostPort,
      loadKey: () => loadPrivateKey(keysDir(dir), KEY_FILES.platformKey),
    });
    // The job service calls prepare() when a trainer starts (schema compile overlaps the trainer's run).
    const p0 = performance.now();
    await publisher.prepare?.();
    const prepareS = (performance.now() - p0) / 1000;
    const f0 = performance.now();
    const first = await publisher.publish(outcome('first'));
    if (!first.ref.startsWith(`${reg.hostPort}/`) || first.attestations.length === 0)
      throw new Error(`unexpected publication: ${JSON.stringify(first)}`);
    const firstS = (performance.now() - f0) / 1000;
    console.log(
      `first publication in this process: ${firstS.toFixed(3)} s (after prepare(), ${prepareS.toFixed(3)} s, which the server runs while the trainer runs)`,
    );
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await publisher.publish(outcome(`run${i}`));
      runs.push((performance.now() - t) / 1000);
    }
    runs.sort((a, b) => a - b);
    const med = runs[1] ?? 0;
    console.log(
      `overhead (hash + AIBoM + link + sign + push), median of 3 warm runs: ${med.toFixed(3)} s = ${((med / trainerSeconds) * 100).toFixed(2)}% of a ${trainerSeconds} s trainer run (targets < 1.5 s, < 1%)`,
    );
  } finally {
    await reg.stop();
  }

  // --- 2. hashing
  const big = join(dir, 'big.bin');
  const fd = openSync(big, 'w');
  const chunk = randomBytes(1 << 20);
  for (let i = 0; i < hashMiB; i++) writeSync(fd, chunk);
  closeSync(fd);
  spawnSync('cat', [big], { stdio: ['ignore', 'ignore', 'ignore'] }); // warm the page cache for both
  let t = performance.now();
  const ref = spawnSync('sha256sum', [big], { encoding: 'utf8' }).stdout.split(' ')[0];
  const tSum = (performance.now() - t) / 1000;
  t = performance.now();
  const ours = await sha256File(big);
  const tOurs = (performance.now() - t) / 1000;
  if (ours !== ref) throw new Error('hash mismatch');
  console.log(
    `${smoke ? '(smoke: too small to time) ' : ''}sha256 of ${hashMiB} MiB: sha256sum ${(hashMiB / tSum).toFixed(0)} MiB/s, ours (1 MiB reads) ${(hashMiB / tOurs).toFixed(0)} MiB/s, ratio ours/sha256sum = ${(tSum / tOurs).toFixed(2)}x (target >= 0.9x)`,
  );
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
