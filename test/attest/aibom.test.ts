import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAibom, signAibom, validateAibom, verifyAibomSignature, type BomJson } from '../../server/attest/aibom.ts';
import { collectEvidence } from '../../server/attest/evidence.ts';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import type { JobOutcome } from '../../server/contracts.ts';

const PY = join(process.cwd(), '.tools/venv/bin/python');

function outcome(root: string): JobOutcome {
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'iris.csv'), 'x,y\n1,0\n');
  writeFileSync(join(root, 'in', 'definition.yaml'), 'label: y\n');
  writeFileSync(join(root, 'in', 'base.json'), '{}');
  writeFileSync(join(root, 'out', 'model', 'model.json'), '{}');
  writeFileSync(join(root, 'out', 'model', 'weights.bin'), Buffer.from([1]));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ backend: 'wasm', accuracy: 0.93, loss: 0.21 }));
  writeFileSync(join(root, 'stdout'), 'ok\n');
  writeFileSync(join(root, 'stderr'), '');
  const inp = (role: JobOutcome['inputs'][number]['role'], name: string): JobOutcome['inputs'][number] => ({
    role,
    name,
    path: join(root, 'in', name),
    digest: '',
    size: 1,
  });
  return {
    jobId: 'job-42',
    owner: 'bob',
    framework: 'tfjs',
    params: { epochs: 3, learning_rate: 0.01 },
    metadata: {
      model_name: 'iris',
      model_version: '1.0.0',
      author: 'bob',
      model_type: 'classification',
      intended_use: 'teaching',
      out_of_scope: 'medicine',
      misuse_or_malicious: 'none known',
      license_name: 'Apache-2.0',
      base_model: 'base',
    },
    inputs: [inp('dataset', 'iris.csv'), inp('dataset_definition', 'definition.yaml'), inp('model', 'base.json')],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: {
      kind: 'docker',
      isolated: true,
      image: 'aibomgen/trainer:1',
      imageDigest: `sha256:${'c'.repeat(64)}`,
      runtime: 'podman 4.3.1',
      command: ['node', '/trainer/main.js'],
    },
    queuedAt: '2026-11-24T05:00:00.000Z',
    startedAt: '2026-11-24T05:00:01.000Z',
    finishedAt: '2026-11-24T05:01:01.000Z',
  };
}

test('AIBoM: CycloneDX 1.6 with model card, data, formulation; validates (library and cyclonedx-python-lib); JSF signature binds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attest-aibom-'));
  try {
    await initKeys(keysDir(dir));
    const o = outcome(join(dir, 'job'));
    const ev = await collectEvidence(o);
    const doc = buildAibom({
      outcome: o,
      evidence: ev,
      repository: 'models/iris',
      manifestDigest: `sha256:${'a'.repeat(64)}`,
      linkSha256: 'b'.repeat(64),
    });
    await validateAibom(doc);
    const meta = doc.metadata as {
      component: {
        type: string;
        purl: string;
        modelCard: {
          quantitativeAnalysis: { performanceMetrics: { type: string; value: string }[] };
          considerations: { useCases: string[] };
        };
      };
    };
    assert.equal(meta.component.type, 'machine-learning-model');
    assert.match(meta.component.purl, /^pkg:oci\/iris@sha256%3Aa{64}/);
    assert.deepEqual(
      meta.component.modelCard.quantitativeAnalysis.performanceMetrics.find((m) => m.type === 'accuracy'),
      { type: 'accuracy', value: '0.93' },
    );
    assert.deepEqual(meta.component.modelCard.considerations.useCases, ['teaching']);
    assert.equal(doc.components?.filter((c) => c.type === 'data').length, 2);

    const signed = signAibom(doc, await loadPrivateKey(keysDir(dir), KEY_FILES.platformKey));
    await validateAibom(signed);
    const { readFileSync } = await import('node:fs');
    const pub = readFileSync(join(keysDir(dir), KEY_FILES.platformPub), 'utf8');
    assert.deepEqual(verifyAibomSignature(signed, pub), { ok: true });

    const tampered: BomJson = JSON.parse(JSON.stringify(signed).replace('"0.93"', '"0.99"'));
    assert.deepEqual(verifyAibomSignature(tampered, pub), { ok: false, reason: 'AIBoM JSF signature does not verify' });
    const other = mkdtempSync(join(tmpdir(), 'attest-aibom-other-'));
    await initKeys(keysDir(other));
    assert.equal(
      verifyAibomSignature(signed, readFileSync(join(keysDir(other), KEY_FILES.platformPub), 'utf8')).reason,
      'AIBoM signed by another key',
    );
    rmSync(other, { recursive: true, force: true });

    if (existsSync(PY)) {
      const f = join(dir, 'bom.json');
      writeFileSync(f, JSON.stringify(signed));
      const script = [
        'import sys',
        'from cyclonedx.validation.json import JsonStrictValidator',
        'from cyclonedx.schema import SchemaVersion',
        'err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())',
        'print(err); sys.exit(1 if err else 0)',
      ].join('\n');
      const r = spawnSync(PY, ['-c', script, f], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      writeFileSync(
        f,
        JSON.stringify({ ...signed, specVersion: '1.6', components: [{ type: 'not-a-type', name: 'x' }] }),
      );
      assert.notEqual(
        spawnSync(PY, ['-c', script, f], { encoding: 'utf8' }).status,
        0,
        'the python validator must reject a bad document',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
