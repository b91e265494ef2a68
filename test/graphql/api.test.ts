import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyHint } from '../../server/attest/dsse.ts';
import { KEY_FILES, keysDir } from '../../server/attest/keys.ts';
import type { JobOutcome, Publication } from '../../server/contracts.ts';
import { queryLimits } from '../../server/graphql/area.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { gql, gqlOk } from '../lineage/oci.ts';

/** A model published by the real publisher (through the /v2/ front in-process), read back through GraphQL. */
let srv: TestServer;
let pub: Publication;
const ref = 'models/demo:1.0.1';

function outcome(root: string): JobOutcome {
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), 'x,y\n1,0\n2,1\n');
  writeFileSync(join(root, 'out', 'model', 'model.json'), JSON.stringify({ modelTopology: { seed: 'A' } }));
  writeFileSync(join(root, 'out', 'model', 'weights.bin'), Buffer.from('weights-A'));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ backend: 'wasm', loss: 0.5, accuracy: 0.75 }));
  writeFileSync(join(root, 'stdout'), 'done\n');
  writeFileSync(join(root, 'stderr'), '');
  return {
    jobId: 'job-gql-A',
    owner: 'alice',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: {
      model_name: 'demo',
      model_version: '1.0.1',
      author: 'alice',
      license_name: 'MIT',
      model_type: 'classification',
    },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 1 }],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-11-24T05:00:00.000Z',
    startedAt: '2026-11-24T05:00:01.000Z',
    finishedAt: '2026-11-24T05:00:31.000Z',
  };
}

before(async () => {
  srv = await startTestServer();
  pub = await srv.services.publisher!.publish(outcome(join(srv.dataDir, 'job')));
  // What the jobs area emits once a publication is complete.
  srv.services.events.emit('job.published', { jobId: 'job-gql-A', publication: pub });
  await srv.services.lineage.idle();
});
after(async () => srv.close());

async function restVerify(r: string): Promise<unknown> {
  const res = await fetch(`${srv.url}/verifier/verify/${r}`);
  return res.json();
}

test('verify(ref) answers what GET /verifier/verify/<ref> answers, before and after tampering', async () => {
  const q =
    'query($r: String!) { verify(ref: $r) { ref digest verified checks { name passed reason } completeness { score rubric missing { field category tier } } facts { job_kind evaluation } } }';
  const good = await gqlOk<{ verify: { verified: boolean; digest: string } }>(srv.url, q, { r: ref });
  assert.equal(good.verify.verified, true, JSON.stringify(good));
  assert.equal(good.verify.digest, pub.digest);
  assert.deepEqual(stripUndefined(good.verify), stripUndefined(await restVerify(ref)));

  // One byte of the stored weights, in the embedded store's own files.
  const manifest = JSON.parse(readFileSync(blobPath(pub.digest), 'utf8')) as {
    layers: { digest: string; annotations: Record<string, string> }[];
  };
  const weights = manifest.layers.find(
    (l) => l.annotations['org.opencontainers.image.title'] === 'model/weights.bin',
  )!.digest;
  const orig = readFileSync(blobPath(weights));
  const bad = Buffer.from(orig);
  bad[0] = bad[0]! ^ 1;
  writeFileSync(blobPath(weights), bad);
  try {
    const tampered = await gqlOk<{
      verify: { verified: boolean; checks: { name: string; passed: boolean; reason: string | null }[] };
    }>(srv.url, q, { r: ref });
    assert.equal(tampered.verify.verified, false);
    assert.match(
      tampered.verify.checks
        .filter((c) => !c.passed)
        .map((c) => `${c.name} ${c.reason}`)
        .join(' | '),
      /weights\.bin/,
    );
    const rest = (await restVerify(ref)) as { checks: { reason?: string }[] };
    assert.deepEqual(stripUndefined(tampered.verify), stripUndefined(rest));
    const flag = await gqlOk<{ models: { totalCount: number } }>(
      srv.url,
      '{ models(filter: { verified: true }) { totalCount } }',
    );
    assert.equal(flag.models.totalCount, 0, 'the failed verification is recorded');
  } finally {
    writeFileSync(blobPath(weights), orig);
  }
  assert.equal((await gqlOk<{ verify: { verified: boolean } }>(srv.url, q, { r: ref })).verify.verified, true);
  const verified = await gqlOk<{ models: { edges: { node: { name: string } }[] } }>(
    srv.url,
    '{ models(filter: { verified: true }) { edges { node { name } } } }',
  );
  assert.deepEqual(
    verified.models.edges.map((e) => e.node.name),
    ['models/demo'],
  );
});

function blobPath(d: string): string {
  return join(srv.dataDir, 'registry', 'blobs', 'sha256', d.slice(7, 9), d.slice(7));
}
/** GraphQL answers null where REST leaves a field out. */
function stripUndefined(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x === null ? undefined : x)));
}

test('a published version: attestations with signer key ids, AIBoM summary, metrics, lineage from the publication', async () => {
  type V = {
    modelVersion: {
      ref: string;
      digest: string;
      framework: string;
      metrics: { accuracy: number };
      attestations: { kind: string; digest: string; signerKeyId: string | null }[];
      aibom: {
        name: string;
        version: string;
        author: string;
        license: string;
        datasets: string[];
        isolated: boolean;
        components: number;
      };
    };
  };
  const v = await gqlOk<V>(
    srv.url,
    `query($r: String) { modelVersion(ref: $r) { ref digest framework metrics
    attestations { kind digest signerKeyId } aibom { name version author license datasets isolated components } } }`,
    { r: ref },
  );
  const mv = v.modelVersion;
  assert.equal(mv.digest, pub.digest);
  assert.equal(mv.framework, 'tfjs');
  assert.equal(mv.metrics.accuracy, 0.75);
  assert.deepEqual(mv.attestations.map((a) => a.kind).sort(), pub.attestations.map((a) => a.kind).sort());
  for (const a of pub.attestations)
    assert.ok(
      mv.attestations.some((x) => x.digest === a.digest && x.kind === a.kind),
      `${a.kind} listed`,
    );
  // Listed attestations verified with the platform key: each names that key (not a hint the document carries).
  const platformKeyId = keyHint(readFileSync(join(keysDir(srv.dataDir), KEY_FILES.platformPub), 'utf8'));
  assert.deepEqual(
    mv.attestations.map((a) => a.signerKeyId),
    mv.attestations.map(() => platformKeyId),
  );
  const dataset = pub.inputs.find((i) => i.role === 'dataset')!;
  assert.deepEqual(mv.aibom.datasets, [`${dataset.repository}@${dataset.digest}`]);
  assert.equal(mv.aibom.isolated, false);
  assert.equal(mv.aibom.license, 'MIT');
  const g = await gqlOk<{ lineage: { edges: { from: string; to: string; kind: string }[] } }>(
    srv.url,
    'query($r: String!) { lineage(ref: $r, direction: UPSTREAM) { edges { from to kind } } }',
    { r: ref },
  );
  const me = `model:models/demo@${pub.digest}`;
  assert.deepEqual(
    g.lineage.edges.map((e) => `${e.from} ${e.kind} ${e.to}`).sort(),
    [
      `${me} TRAINED_BY job:job-gql-A`,
      `${me} TRAINED_ON dataset:${dataset.digest}`,
      `job:job-gql-A PRODUCED ${me}`,
    ].sort(),
  );
});

test('setAlias / removeAlias move an OCI tag on the model repository', async () => {
  type M = { setAlias: { name: string; aliases: { name: string; version: { digest: string } }[] } };
  const set = await gqlOk<M>(
    srv.url,
    'mutation { setAlias(model: "models/demo", alias: "champion", version: "1.0.1") { name aliases { name version { digest } } } }',
  );
  assert.deepEqual(set.setAlias.aliases, [{ name: 'champion', version: { digest: pub.digest } }]);
  const head = await fetch(`${srv.url}/v2/models/demo/manifests/champion`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(head.headers.get('docker-content-digest'), pub.digest);
  const tags = await gqlOk<{ modelVersion: { tag: string; tags: string[] } }>(
    srv.url,
    'query($r: String) { modelVersion(ref: $r) { tag tags } }',
    { r: 'models/demo:champion' },
  );
  assert.deepEqual(tags.modelVersion, { tag: '1.0.1', tags: ['1.0.1', 'champion'] });

  const codes = async (q: string): Promise<string | undefined> => (await gql(srv.url, q)).errors?.[0]?.extensions?.code;
  assert.equal(
    await codes('mutation { setAlias(model: "models/nope", alias: "x", version: "1") { name } }'),
    'NOT_FOUND',
  );
  assert.equal(
    await codes('mutation { setAlias(model: "models/demo", alias: "x", version: "9.9.9") { name } }'),
    'NOT_FOUND',
  );
  assert.equal(
    await codes('mutation { setAlias(model: "models/demo", alias: "bad tag!", version: "1.0.1") { name } }'),
    'BAD_USER_INPUT',
  );
  assert.equal(
    await codes(
      `mutation { setAlias(model: "models/demo", alias: "${pub.digest.replace(':', '-')}", version: "1.0.1") { name } }`,
    ),
    'FORBIDDEN',
  );
  assert.equal(await codes('mutation { removeAlias(model: "models/demo", alias: "1.0.1") { name } }'), 'FORBIDDEN');
  assert.equal(await codes('mutation { removeAlias(model: "models/demo", alias: "staging") { name } }'), 'NOT_FOUND');

  const rm = await gqlOk<{ removeAlias: { aliases: unknown[] } }>(
    srv.url,
    'mutation { removeAlias(model: "models/demo", alias: "champion") { aliases { name } } }',
  );
  assert.deepEqual(rm.removeAlias.aliases, []);
  const gone = await fetch(`${srv.url}/v2/models/demo/manifests/champion`, { method: 'HEAD' });
  assert.equal(gone.status, 404);
});

test('depth and cost limits refuse abusive queries before they run', async () => {
  let nested = 'id';
  for (let i = 0; i < queryLimits.maxDepth; i++) nested = `job { modelVersion { ${nested} } }`;
  const deep = await gql(srv.url, `{ modelVersion(ref: "${ref}") { ${nested} } }`);
  assert.equal(deep.data, undefined);
  assert.match(deep.errors?.[0]?.message ?? '', /depth/i);

  const wide = Array.from(
    { length: 200 },
    (_, i) => `l${i}: lineage(ref: "${ref}") { nodes { id kind label digest ref } edges { from to kind } }`,
  ).join('\n');
  const costly = await gql(srv.url, `{ ${wide} }`);
  assert.equal(costly.data, undefined);
  assert.match(costly.errors?.[0]?.message ?? '', /cost/i);

  const ok = await gql(srv.url, `{ l0: lineage(ref: "${ref}") { nodes { id } } }`);
  assert.equal(ok.errors, undefined);
});

test('GraphiQL in a browser; unknown things answer NOT_FOUND or null; services that are off say so', async () => {
  const page = await fetch(`${srv.url}/graphql`, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /graphiql/i);
  const nf = await gql(srv.url, '{ lineage(ref: "models/none:1") { nodes { id } } }');
  assert.equal(nf.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  assert.equal(
    (await gqlOk<{ modelVersion: null }>(srv.url, '{ modelVersion(ref: "models/demo:9.9.9") { id } }')).modelVersion,
    null,
  );
  const noArgs = await gql(srv.url, '{ modelVersion { id } }');
  assert.equal(noArgs.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const job = await gql(srv.url, '{ job(id: "no-such-job") { id } }');
  if (srv.services.jobs) assert.equal((job.data as { job: null }).job, null);
  else assert.equal(job.errors?.[0]?.extensions?.code, 'UNAVAILABLE');
});

test('a /graphql request over AIBOMGEN_MAX_GRAPHQL_BYTES is refused with 413 PAYLOAD_TOO_LARGE, with or without Content-Length', async () => {
  const small = await startTestServer({ maxGraphqlBytes: 1 << 20 });
  try {
    const operations = JSON.stringify({
      query:
        'mutation($f: File!) { submitTrainingJob(model: $f, dataset: $f, datasetDefinition: $f, framework: "tfjs") { id } }',
      variables: { f: null },
    });
    const form = () => {
      const f = new FormData();
      f.set('operations', operations);
      f.set('map', JSON.stringify({ 0: ['variables.f'] }));
      f.set('0', new Blob([Buffer.alloc(2 << 20, 1)]), 'big.bin');
      return f;
    };
    const sized = await fetch(`${small.url}/graphql`, { method: 'POST', body: form() });
    assert.equal(sized.status, 413);
    const body = (await sized.json()) as { errors: { message: string; extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'PAYLOAD_TOO_LARGE');
    assert.match(body.errors[0]!.message, /submit_job_by_model_and_data/);
    // Chunked (no Content-Length): counted while read.
    const encoded = new Response(form());
    const chunked = await fetch(`${small.url}/graphql`, {
      method: 'POST',
      body: encoded.body,
      headers: { 'content-type': encoded.headers.get('content-type')! },
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    assert.equal(chunked.status, 413);
    // Ordinary queries are untouched.
    assert.equal((await gql(small.url, '{ __typename }')).data?.__typename, 'Query');
  } finally {
    await small.close();
  }
});
