/**
 * SLSA provenance v1 as peers check it: published to a real distribution registry, `cosign verify-attestation
 * --type slsaprovenance1` passes with the platform key, and the predicate cosign returns validates against the SLSA
 * provenance v1 JSON schema (schema/slsa-provenance-v1.schema.json, with check-jsonschema) and parses strictly as
 * the in-toto attestation framework's own Provenance v1 protobuf (PyPI in-toto-attestation). It names the datasets,
 * the base model and the trainer image by digest, and the logs as byproducts by the hashes the platform measured.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import type { JobOutcome } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { startDistribution } from '../helpers/distribution.ts';

const COSIGN = join(process.cwd(), '.tools/bin/cosign');
const VENV = join(process.cwd(), '.tools/venv-attest/bin');
const SCHEMA = join(process.cwd(), 'schema/slsa-provenance-v1.schema.json');
/** The in-toto attestation framework's protobufs: unknown fields and wrong types fail the parse. */
const PROTO_CHECK = `
import json, sys
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
st = json.load(open(sys.argv[1]))
json_format.ParseDict(st["predicate"], provenance_pb2.Provenance())
Statement.copy_from_pb(json_format.ParseDict(st, statement_pb2.Statement())).validate()
print("ok")
`;
const IMAGE_DIGEST = `sha256:${'ab'.repeat(32)}`;
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function outcome(root: string): JobOutcome {
  for (const d of ['out', 'in']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), 'x,y\n1,0\n2,1\n');
  writeFileSync(join(root, 'in', 'base.json'), JSON.stringify({ base: 1 }));
  writeFileSync(join(root, 'out', 'model.json'), JSON.stringify({ trained: 1 }));
  writeFileSync(join(root, 'stdout'), 'epoch 1 loss 0.5\n');
  writeFileSync(join(root, 'stderr'), 'a warning\n');
  const input = (role: JobOutcome['inputs'][number]['role'], name: string) => ({
    role,
    name,
    path: join(root, 'in', name),
    digest: '',
    size: 1,
  });
  return {
    jobId: 'job-slsa',
    owner: 'alice',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: { model_name: 'slsa', model_version: '1.0.0', author: 'alice', license_name: 'MIT' },
    inputs: [input('dataset', 'data.csv'), input('model', 'base.json')],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: {
      kind: 'docker',
      isolated: true,
      image: 'localhost/trainer:1',
      imageDigest: IMAGE_DIGEST,
      command: ['node', 'trainer/main.ts'],
    },
    queuedAt: '2026-12-05T05:00:00.000Z',
    startedAt: '2026-12-05T05:00:01.000Z',
    finishedAt: '2026-12-05T05:00:31.000Z',
  };
}

test('SLSA provenance v1: cosign verify-attestation --type slsaprovenance1 passes; schema-valid; dependencies and byproducts by digest', async (t) => {
  if (!existsSync(COSIGN) || !existsSync(join(VENV, 'check-jsonschema')))
    return t.skip('cosign or check-jsonschema is missing (scripts/setup.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'attest-slsa-'));
  const reg = await startDistribution();
  try {
    await initKeys(keysDir(dir));
    const publisher = createPublisher({
      target: new OciClient(reg.url),
      registryHost: reg.hostPort,
      loadKey: () => loadPrivateKey(keysDir(dir), KEY_FILES.platformKey),
    });
    const o = outcome(join(dir, 'job'));
    const pub = await publisher.publish(o);
    const cos = spawnSync(
      COSIGN,
      [
        'verify-attestation',
        '--key',
        join(keysDir(dir), KEY_FILES.platformPub),
        '--type',
        'slsaprovenance1',
        '--insecure-ignore-tlog',
        '--allow-insecure-registry',
        '--new-bundle-format',
        `${reg.hostPort}/${pub.repository}@${pub.digest}`,
      ],
      { encoding: 'utf8', env: { ...process.env, HOME: dir } },
    );
    assert.equal(cos.status, 0, `${cos.stdout}\n${cos.stderr}`);
    // What cosign verified: one DSSE envelope per line; the SLSA one is the statement checked below.
    const statements = cos.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')))
      .filter((s: { predicateType: string }) => s.predicateType === 'https://slsa.dev/provenance/v1');
    assert.equal(statements.length, 1, cos.stdout.slice(0, 400));
    const st = statements[0] as {
      subject: { digest: { sha256: string } }[];
      predicate: {
        buildDefinition: { resolvedDependencies: { name: string; uri: string; digest: { sha256: string } }[] };
        runDetails: { byproducts: { name: string; digest: { sha256: string } }[] };
      };
    };
    assert.equal(st.subject[0]!.digest.sha256, pub.digest.slice(7));

    // Dependencies by digest: the published dataset and base model artifacts, the trainer image.
    const deps = Object.fromEntries(st.predicate.buildDefinition.resolvedDependencies.map((d) => [d.name, d]));
    for (const i of pub.inputs) {
      const d = Object.values(deps).find((x) => x.uri.includes(`/${i.repository}@`));
      assert.ok(d, `${i.repository} is a resolved dependency`);
      assert.equal(`sha256:${d.digest.sha256}`, i.digest);
    }
    assert.equal(deps['trainer-image']?.digest.sha256, IMAGE_DIGEST.slice(7));
    assert.equal(deps['trainer-image']?.uri, `oci://localhost/trainer:1@${IMAGE_DIGEST}`);
    // Byproducts: the logs, by the hashes of the files the runner wrote.
    assert.deepEqual(
      st.predicate.runDetails.byproducts.map((b) => [b.name, b.digest.sha256]),
      [
        ['stdout', sha(o.stdoutPath)],
        ['stderr', sha(o.stderrPath)],
      ],
    );

    // The SLSA v1 schema and the in-toto protobufs accept it; each refuses a broken copy.
    const good = join(dir, 'statement.json');
    writeFileSync(good, JSON.stringify(st));
    const predicate = join(dir, 'predicate.json');
    writeFileSync(predicate, JSON.stringify(st.predicate));
    const bad = structuredClone(st) as unknown as { predicate: { buildDefinition: Record<string, unknown> } };
    bad.predicate.buildDefinition.buildType = undefined;
    bad.predicate.buildDefinition.resolvedDepends = [];
    const badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify(bad));
    const badPredicate = join(dir, 'bad-predicate.json');
    writeFileSync(badPredicate, JSON.stringify(bad.predicate));
    const schema = (f: string) =>
      spawnSync(join(VENV, 'check-jsonschema'), ['--schemafile', SCHEMA, f], { encoding: 'utf8' });
    const proto = (f: string) => spawnSync(join(VENV, 'python'), ['-c', PROTO_CHECK, f], { encoding: 'utf8' });
    let r = schema(predicate);
    assert.equal(r.status, 0, `check-jsonschema: ${r.stdout}${r.stderr}`);
    r = proto(good);
    assert.equal(r.status, 0, `in-toto-attestation: ${r.stdout}${r.stderr}`);
    assert.notEqual(schema(badPredicate).status, 0, 'the schema refuses a predicate without buildType');
    assert.notEqual(proto(badFile).status, 0, 'the protobuf refuses an unknown field');
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
