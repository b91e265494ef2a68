import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { gqlOk, sha256 } from './oci.ts';

/**
 * Models pushed with the real oras CLI (no publisher, no jobs) join the graph through their annotations; an
 * AIBoM attached with oras is not signed by the platform, so it is listed as unverified and speaks for nothing.
 */
const ORAS = join(process.cwd(), '.tools/bin/oras');
let srv: TestServer;
let dir: string;

/** Async: the server answering oras runs in this process, so a blocking spawn would deadlock. */
async function oras(args: string[]): Promise<string> {
  try {
    const r = await promisify(execFile)(ORAS, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir } });
    return r.stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    throw new Error(`oras ${args.join(' ')}: ${x.stdout ?? ''}${x.stderr ?? String(e)}`);
  }
}
const push = async (ref: string, file: string, annotations: string[]): Promise<string> =>
  (
    await oras([
      'push',
      '--plain-http',
      '--format',
      'go-template={{.digest}}',
      ...annotations.flatMap((a) => ['--annotation', a]),
      `${srv.hostPort}/${ref}`,
      file,
    ])
  ).trim();

type Graph = {
  lineage: {
    nodes: { id: string; kind: string; label: string }[];
    edges: { from: string; to: string; kind: string }[];
  };
};
const LINEAGE =
  'query($r: String!) { lineage(ref: $r, direction: UPSTREAM) { nodes { id kind label } edges { from to kind } } }';

before(async () => {
  srv = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'lineage-oras-'));
  writeFileSync(join(dir, 'base.safetensors'), 'base weights');
  writeFileSync(join(dir, 'tuned.safetensors'), 'tuned weights');
  writeFileSync(join(dir, 'other.safetensors'), 'other weights');
});
after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

test('oras push with an io.aibomgen.base-model annotation: the model is FINE_TUNED_FROM our version', async () => {
  const base = await push('models/oras-base:1.0', 'base.safetensors', []);
  assert.match(base, /^sha256:[a-f0-9]{64}$/);
  const tuned = await push('models/oras-tuned:1.0', 'tuned.safetensors', [
    `io.aibomgen.base-model=models/oras-base@${base}`,
  ]);
  await srv.services.lineage.idle();
  const g = await gqlOk<Graph>(srv.url, LINEAGE, { r: 'models/oras-tuned:1.0' });
  assert.deepEqual(g.lineage.edges, [
    { from: `model:models/oras-tuned@${tuned}`, to: `model:models/oras-base@${base}`, kind: 'FINE_TUNED_FROM' },
  ]);
  assert.equal(g.lineage.nodes.find((n) => n.id === `model:models/oras-base@${base}`)?.label, 'models/oras-base:1.0');
  const impact = await gqlOk<{ impact: { ref: string }[] }>(
    srv.url,
    'query($d: String!) { impact(digest: $d) { ref } }',
    { d: base },
  );
  assert.deepEqual(
    impact.impact.map((v) => v.ref),
    ['models/oras-tuned:1.0'],
  );
});

test('oras push with org.opencontainers.image.base.* naming an outside model, then oras attach of a CycloneDX AIBoM', async () => {
  const hf = sha256('bert-base-uncased');
  const other = await push('models/oras-other:1.0', 'other.safetensors', [
    `org.opencontainers.image.base.name=hf.co/google/bert-base:main`,
    `org.opencontainers.image.base.digest=${hf}`,
  ]);
  const csvDigest = sha256('the training csv');
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: {
      component: {
        type: 'machine-learning-model',
        name: 'oras-other',
        version: '1.0',
        licenses: [{ license: { id: 'Apache-2.0' } }],
        modelCard: { modelParameters: { task: 'text-classification' } },
      },
    },
    components: [{ type: 'data', name: 'train.csv', hashes: [{ alg: 'SHA-256', content: csvDigest.slice(7) }] }],
  };
  writeFileSync(join(dir, 'bom.cdx.json'), JSON.stringify(bom));
  await oras([
    'attach',
    '--plain-http',
    '--artifact-type',
    'application/vnd.cyclonedx+json',
    `${srv.hostPort}/models/oras-other@${other}`,
    'bom.cdx.json:application/vnd.cyclonedx+json',
  ]);
  await srv.services.lineage.idle();
  // The annotations of the model itself join the graph; the attached AIBoM is unsigned, so nothing it says does:
  // no TRAINED_ON from its dataset, no summary, no task or license to filter by. It is listed as unverified.
  const g = await gqlOk<Graph>(srv.url, LINEAGE, { r: `models/oras-other@${other}` });
  const me = `model:models/oras-other@${other}`;
  assert.deepEqual(
    g.lineage.edges.map((e) => `${e.from} ${e.kind} ${e.to}`),
    [`${me} FINE_TUNED_FROM model:google/bert-base@${hf}`],
  );
  assert.equal(
    g.lineage.nodes.find((n) => n.id === `dataset:${csvDigest}`),
    undefined,
  );
  const v = await gqlOk<{
    modelVersion: {
      aibom: unknown;
      attestations: unknown[];
      unverifiedAttachments: { artifactType: string; verified: boolean; reason: string }[];
    };
  }>(
    srv.url,
    'query($r: String) { modelVersion(ref: $r) { aibom { serialNumber } attestations { kind } unverifiedAttachments { artifactType verified reason } } }',
    { r: 'models/oras-other:1.0' },
  );
  assert.equal(v.modelVersion.aibom, null);
  assert.deepEqual(v.modelVersion.attestations, []);
  assert.equal(v.modelVersion.unverifiedAttachments.length, 1);
  assert.equal(v.modelVersion.unverifiedAttachments[0]?.artifactType, 'application/vnd.cyclonedx+json');
  assert.equal(v.modelVersion.unverifiedAttachments[0]?.verified, false);
  assert.match(v.modelVersion.unverifiedAttachments[0]?.reason ?? '', /carries no JSF signature/);
  const byTask = await gqlOk<{ models: { edges: { node: { name: string } }[] } }>(
    srv.url,
    '{ models(filter: { task: "text-classification", license: "apache-2.0" }) { edges { node { name } } } }',
  );
  assert.deepEqual(byTask.models.edges, []);
});
