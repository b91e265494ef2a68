/**
 * The SPDX 3.0.1 export: published as a signed statement about the model, fetched by `aibomgen bom spdx` and by
 * GraphQL (`spdxDocument`), valid against the SPDX 3.0.1 JSON schema (check-jsonschema) and the SPDX model's SHACL
 * shapes (pyshacl; both from the SPDX project's own Maven artifact, see scripts/setup.sh), loadable by
 * spdx-python-model (bindings generated from the SPDX 3.0.1 SHACL model: classes, enums, patterns on load, missing
 * references on link, min/max cardinalities on serialize), with the same dataset digests as the CycloneDX AIBoM.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_FILES } from '../../server/attest/keys.ts';
import { cdxDatasetDigests, PREDICATE_SPDX_3, spdxDatasetDigests } from '../../server/attest/spdx.ts';
import type { JobOutcome, Publication } from '../../server/contracts.ts';
import { aibomgen, cliHome, json } from '../cli/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const VENV = join(process.cwd(), '.tools/venv-attest/bin');
const SPDX = join(process.cwd(), '.tools/spdx-3.0.1');
const SCHEMA = join(SPDX, 'spdx-json-schema.json');
/**
 * pyshacl against the SPDX 3.0.1 model's own SHACL shapes (spdx-model.jsonld, the same graph spdx.org serves as
 * spdx-model.ttl); the document's @context URL is replaced by the published context file (no network here).
 */
const SHACL_SHAPES_CHECK = `
import json, sys
from rdflib import Graph
from pyshacl import validate
model, context, doc = sys.argv[1:4]
data = json.load(open(doc))
data['@context'] = json.load(open(context))['@context']
g = Graph().parse(data=json.dumps(data), format='json-ld')
shapes = Graph().parse(model, format='json-ld')
conforms, _, text = validate(g, shacl_graph=shapes, ont_graph=shapes, inference='none')
print(f'conforms: {len(g)} triples' if conforms else text)
sys.exit(0 if conforms else 1)
`;
/** spdx-python-model's checks, as a script: load (types, enums, patterns), link (references), serialize (counts). */
const SHACL_BINDINGS_CHECK = `
import json, sys, spdx_python_model
model, objset = spdx_python_model.load_data(json.load(open(sys.argv[1])))
missing = objset.link()
if missing: sys.exit(f"unresolved references: {sorted(missing)}")
model.JSONLDSerializer().serialize_data(objset)
print(len(list(objset.foreach())), "elements")
`;

let srv: TestServer;
let pub: Publication;
const { env } = cliHome();
const run = (...args: string[]) => aibomgen(['--server', srv.url, ...args], { env });

before(async () => {
  srv = await startTestServer({ runner: 'process' });
  const root = join(srv.dataDir, 'spdx-job');
  for (const d of ['out', 'in']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), 'x,y\n1,0\n2,1\n');
  writeFileSync(join(root, 'in', 'dataset_definition.json'), JSON.stringify({ target: 'y' }));
  writeFileSync(join(root, 'in', 'base.json'), JSON.stringify({ base: true }));
  writeFileSync(join(root, 'out', 'model.json'), JSON.stringify({ trained: true }));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ loss: 0.125, accuracy: 0.75 }));
  writeFileSync(join(root, 'stdout'), '');
  writeFileSync(join(root, 'stderr'), '');
  const input = (role: JobOutcome['inputs'][number]['role'], name: string) => ({
    role,
    name,
    path: join(root, 'in', name),
    digest: '',
    size: 1,
  });
  const outcome: JobOutcome = {
    jobId: 'job-spdx',
    owner: 'spdx-test',
    framework: 'tfjs',
    params: { epochs: 3, learning_rate: 0.01 },
    metadata: {
      model_name: 'spdx',
      model_version: '1.0.0',
      author: 'Ada',
      license_name: 'Apache-2.0',
      model_type: 'classification',
    },
    inputs: [
      input('dataset', 'data.csv'),
      input('dataset_definition', 'dataset_definition.json'),
      input('model', 'base.json'),
    ],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-12-05T10:00:00.000Z',
    startedAt: '2026-12-05T10:00:01.250Z',
    finishedAt: '2026-12-05T10:00:09.750Z',
  };
  pub = await srv.services.publisher!.publish(outcome);
});
after(() => srv.close());

test('SPDX 3.0.1: signed, fetched by the CLI and GraphQL, schema- and SHACL-valid, bindings load it, same datasets as the AIBoM', async (t) => {
  assert.ok(
    pub.attestations.some((a) => a.kind === 'spdx'),
    'an spdx referrer is attached',
  );
  const short = `models/spdx:${pub.tag}`;
  const pubKey = join(srv.services.config.keysDir, KEY_FILES.platformPub);

  // Either format from the CLI: the SPDX document, and the CycloneDX one.
  const s = await run('bom', 'spdx', short, '--key', pubKey);
  assert.equal(s.status, 0, s.stderr);
  const spdx = json<{ '@context': string; '@graph': Record<string, unknown>[] }>(s);
  assert.equal(spdx['@context'], 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld');
  const cdx = await run('bom', 'show', short, '--raw');
  assert.equal(cdx.status, 0, cdx.stderr);
  const bom = json<unknown>(cdx);

  // Same facts: the dataset digests (data file and definition), the model digest, the hyperparameters.
  const ds = spdxDatasetDigests(spdx);
  assert.equal(ds.length, 2, JSON.stringify(ds));
  assert.deepEqual(ds, cdxDatasetDigests(bom));
  const model = spdx['@graph'].find((n) => n.type === 'ai_AIPackage' && String(n.spdxId).endsWith(':model'))!;
  assert.deepEqual(model.verifiedUsing, [{ type: 'Hash', algorithm: 'sha256', hashValue: pub.digest.slice(7) }]);
  assert.deepEqual(
    (model.ai_hyperparameter as { key: string }[]).map((h) => h.key),
    ['epochs', 'learning_rate'],
  );
  const rels = spdx['@graph'].filter((n) => n.type === 'Relationship').map((n) => n.relationshipType);
  for (const r of ['trainedOn', 'ancestorOf', 'dependsOn', 'hasInput', 'hasOutput', 'hasDeclaredLicense', 'describes'])
    assert.ok(rels.includes(r), `relationship ${r}`);

  // GraphQL serves the same document.
  const gql = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ modelVersion(ref: "${short}") { spdxDocument attestations { kind } } }` }),
  });
  const g = (await gql.json()) as {
    data: { modelVersion: { spdxDocument: unknown; attestations: { kind: string }[] } };
  };
  assert.deepEqual(g.data.modelVersion.spdxDocument, spdx, JSON.stringify(g).slice(0, 500));
  assert.ok(g.data.modelVersion.attestations.some((a) => a.kind === 'spdx'));

  // The full chain counts it.
  const v = await run('verify', short, '--key', pubKey, '--json');
  assert.equal(v.status, 0, v.stdout);
  const checks = json<{ checks: { name: string; passed: boolean }[] }>(v).checks;
  for (const n of ['SPDX 3.0.1 export present', 'SPDX datasets = AIBoM datasets'])
    assert.equal(checks.find((c) => c.name === n)?.passed, true, n);

  // Peer validators: the SPDX 3.0.1 JSON schema, and the SHACL-generated bindings; each refuses a broken copy.
  if (!existsSync(SCHEMA) || !existsSync(join(VENV, 'check-jsonschema')))
    return t.skip('the SPDX schema or check-jsonschema is missing (scripts/setup.sh)');
  const file = join(srv.dataDir, 'model.spdx3.json');
  writeFileSync(file, JSON.stringify(spdx));
  const broken = join(srv.dataDir, 'broken.spdx3.json');
  const bad = structuredClone(spdx);
  for (const n of bad['@graph']) if (n.type === 'dataset_DatasetPackage') delete n.dataset_datasetType;
  writeFileSync(broken, JSON.stringify(bad));
  const schema = (f: string) =>
    spawnSync(join(VENV, 'check-jsonschema'), ['--schemafile', SCHEMA, f], { encoding: 'utf8' });
  const shacl = (f: string) => spawnSync(join(VENV, 'python'), ['-c', SHACL_BINDINGS_CHECK, f], { encoding: 'utf8' });
  let r = schema(file);
  assert.equal(r.status, 0, `check-jsonschema: ${r.stdout}${r.stderr}`);
  r = shacl(file);
  assert.equal(r.status, 0, `spdx-python-model: ${r.stdout}${r.stderr}`);
  assert.notEqual(schema(broken).status, 0, 'the schema refuses a dataset without dataset_datasetType');
  const shapes = (f: string) =>
    spawnSync(
      join(VENV, 'python'),
      ['-c', SHACL_SHAPES_CHECK, join(SPDX, 'spdx-model.jsonld'), join(SPDX, 'spdx-context.jsonld'), f],
      { encoding: 'utf8' },
    );
  r = shapes(file);
  assert.equal(r.status, 0, `pyshacl: ${r.stdout}${r.stderr}`);
  r = shapes(broken);
  assert.notEqual(r.status, 0, 'the SHACL shapes refuse a dataset without datasetType');
  assert.match(r.stdout, /Less than 1 values on .*Dataset\/datasetType/);
  r = shacl(broken);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /dataset_datasetType.*is required/);
  assert.equal(PREDICATE_SPDX_3, 'https://spdx.dev/Document/v3.0.1');
});
