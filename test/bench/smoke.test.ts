/**
 * Every benchmark once, in its `--smoke` mode (tiny sizes, one run), as a child process exactly as a person
 * runs it: it must exit 0 and print its figures. Nothing is timed or compared here (the figures of a smoke
 * run mean nothing); the point is that no benchmark rots while the code under it changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Bench {
  name: string;
  /** Lines the run must print: its figures, each with a number where a figure goes. */
  figures: RegExp[];
}

const NUM = String.raw`[\d,]+(?:\.\d+)?`;
const BENCHES: Bench[] = [
  {
    // The front (every store mode), distribution direct (filesystem and S3) and the bare relay; needs
    // docker-registry and weed (setup.sh). s3: the front over distribution on SeaweedFS, pulls by redirect.
    name: 'registry',
    figures: [
      /^registry bench \(smoke/m,
      new RegExp(`^direct {2}: push +${NUM} MiB/s +pull +${NUM} MiB/s$`, 'm'),
      new RegExp(`^direct-s3: push +${NUM} MiB/s +pull +${NUM} MiB/s$`, 'm'),
      ...['relay', 'embedded', 'upstream', 's3'].map(
        (t) => new RegExp(`^${t} *: push +${NUM} MiB/s ratio ${NUM} .*pull +${NUM} MiB/s ratio ${NUM}`, 'm'),
      ),
    ],
  },
  {
    name: 'lineage',
    figures: [
      /^lineage\(depth: 50, UPSTREAM\) returns \d+ nodes, \d+ edges; impact\(root dataset\) returns 100 versions$/m,
      new RegExp(`^lineage depth 50: p50 ${NUM} ms, p95 ${NUM} ms .*ratio baseline/resolver ${NUM}$`, 'm'),
      new RegExp(`^impact 10k *: p50 ${NUM} ms, p95 ${NUM} ms .*ratio baseline/resolver ${NUM}$`, 'm'),
    ],
  },
  {
    // cpu and wasm are always there; tensorflow (tfjs-node) is reported "not measured" where it is missing.
    name: 'trainer',
    figures: [
      new RegExp(`^ +cpu +${NUM} +1\\.0× +${NUM} +1\\.0× +${NUM}$`, 'm'),
      new RegExp(`^ +wasm +${NUM} +${NUM}× +${NUM} +${NUM}× +${NUM}$`, 'm'),
      /^targets: MLP/m,
      // The Keras trainer and the plain Keras baseline, and every trainer as a ratio of that baseline.
      new RegExp(`^ *keras trainer \\(jax cpu\\) +${NUM} +${NUM}× +${NUM} +${NUM}×$`, 'm'),
      new RegExp(`^ *plain keras fit \\(jax cpu\\) +${NUM} +1\\.00× +${NUM} +1\\.00×$`, 'm'),
      // What a TF.js-framework job really gets when the Keras image is built (trainer-choice.ts).
      new RegExp(`^ *default \\(auto → keras\\) +${NUM} +${NUM}× +${NUM} +${NUM}×$`, 'm'),
      /^goal best platform trainer ≥ 0\.9× plain: MLP/m,
    ],
  },
  {
    // Publishes to a real distribution registry with the platform's publisher; also needs sha256sum.
    name: 'attest',
    figures: [
      new RegExp(`^first publication in this process: ${NUM} s`, 'm'),
      new RegExp(`^overhead \\(hash \\+ AIBoM \\+ link \\+ sign \\+ push\\), median of 3 warm runs: ${NUM} s`, 'm'),
      new RegExp(
        `sha256 of \\d+ MiB: sha256sum ${NUM} MiB/s, ours \\(1 MiB reads\\) ${NUM} MiB/s, ratio ours/sha256sum = ${NUM}x`,
        'm',
      ),
    ],
  },
  {
    // Claims on Postgres (pg-boss, three workers) and on SQLite (embedded), then jobs/min on real workers;
    // needs postgresql-15 and docker-registry (setup.sh).
    name: 'queue',
    figures: [
      /^queue bench \(smoke/m,
      new RegExp(`^pg-boss {2}: claim p50 ${NUM} ms, p95 ${NUM} ms, max ${NUM} ms`, 'm'),
      new RegExp(`^embedded : claim p50 ${NUM} ms, p95 ${NUM} ms, max ${NUM} ms`, 'm'),
      // Jobs per minute on real `aibomgen worker` processes (1 and 2 in smoke), with the ratio to 1 worker.
      new RegExp(`^1 worker : ${NUM} jobs/min \\(3 trivial jobs in ${NUM} s\\), ratio vs 1 worker 1\\.00$`, 'm'),
      new RegExp(`^2 workers: ${NUM} jobs/min \\(3 trivial jobs in ${NUM} s\\), ratio vs 1 worker ${NUM}$`, 'm'),
    ],
  },
];

for (const b of BENCHES) {
  test(`bench/${b.name}/run.ts --smoke runs and prints its figures`, { timeout: 240_000 }, async (t) => {
    const started = performance.now();
    const { code, stdout, stderr } = await new Promise<{
      code: number | string | null;
      stdout: string;
      stderr: string;
    }>((done) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', `bench/${b.name}/run.ts`, '--smoke'],
        { cwd: ROOT, timeout: 230_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          done({
            code: err ? ((err as { code?: number | string }).code ?? err.signal ?? 'killed') : 0,
            stdout,
            stderr,
          });
        },
      );
    });
    t.diagnostic(`bench/${b.name} --smoke: exit ${code} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const output = `--- stdout\n${stdout}--- stderr\n${stderr.slice(-4000)}`;
    assert.equal(code, 0, `bench/${b.name}/run.ts --smoke failed:\n${output}`);
    for (const f of b.figures) assert.match(stdout, f, `bench/${b.name} printed no line matching ${f}:\n${output}`);
  });
}
