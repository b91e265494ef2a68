/**
 * scripts/gpu-check.sh --smoke, as the device check runs on a GPU machine but here on the CPU: it must exit 0,
 * print samples/s of the Keras trainer for the bench's MLP and CNN, confirm the output contract of each run
 * (model.keras loads, metrics.json complete) and run the TF.js trainer's backend probe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const NUM = String.raw`[\d,]+`;

test('scripts/gpu-check.sh --smoke prints the Keras trainer figures and checks the output contract', async (t) => {
  const { code, stdout, stderr } = await new Promise<{ code: number | string | null; stdout: string; stderr: string }>(
    (done) => {
      execFile('bash', ['scripts/gpu-check.sh', '--smoke'], { cwd: ROOT, timeout: 280_000 }, (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number | string }).code ?? err.signal ?? 'killed') : 0, stdout, stderr }),
      );
    },
  );
  const output = `--- stdout\n${stdout}--- stderr\n${stderr.slice(-4000)}`;
  assert.equal(code, 0, output);
  for (const model of ['mlp', 'cnn']) {
    const m = stdout.match(new RegExp(`^${model} +cpu +(${NUM}) +- +-$`, 'm'));
    assert.ok(m, `no ${model} figure:\n${output}`);
    assert.ok(Number(m[1]!.replaceAll(',', '')) > 0, `${model}: samples/s must be positive`);
    assert.match(
      stdout,
      new RegExp(
        `^output contract OK on cpu: ${model}: model\\.keras loads \\(\\d+ parameters\\), metrics\\.json complete, backend keras-jax-cpu$`,
        'm',
      ),
    );
  }
  assert.match(stdout, /^tfjs probe: \{"type":"probe","backend":"(wasm|cpu|tensorflow)"/m);
  const took = stdout.match(/^gpu-check \(smoke\) done in (\d+) s$/m);
  assert.ok(took, output);
  t.diagnostic(`gpu-check --smoke: ${took[1]} s`);
});
