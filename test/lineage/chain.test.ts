import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Annotation, MediaType } from '../../schema/media-types.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { deleteManifest, gql, gqlOk, pushInput, pushModel, sha256 } from './oci.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';

/**
 * dataset → A → B (fine-tuned: A's weights re-uploaded as B's base model) → C (names B directly),
 * pushed through the /v2/ front with the publisher's annotations. B and its base-model upload arrive
 * before A, so the index must fix the chain up when A lands.
 */
/** The same chain on each database the platform supports: the walks are recursive CTEs on both. */
function chainSuite(start: () => Promise<TestServer>): void {
  let srv: TestServer;
  const csv = 'sepal,petal,label\n1,2,0\n3,4,1\n';
  const weightsA = 'keras-weights-of-A';
  const img = `registry.local/trainers/tfjs@${sha256('trainer-image')}`;
  let dataset = '';
  let a = '';
  let b = '';
  let c = '';

  const LINEAGE = `query($ref: String!, $dir: LineageDirection, $depth: Int) {
    lineage(ref: $ref, direction: $dir, depth: $depth) { nodes { id kind label digest ref } edges { from to kind } } }`;
  type Graph = {
    lineage: {
      nodes: { id: string; kind: string; label: string }[];
      edges: { from: string; to: string; kind: string }[];
    };
  };
  const edgeSet = (g: Graph): string[] => g.lineage.edges.map((e) => `${e.from} ${e.kind} ${e.to}`).sort();

  before(async () => {
    srv = await start();
    const url = srv.url;
    dataset = await pushInput(url, 'datasets/iris.csv', 'iris.csv', csv, MediaType.modelDatasetRaw);
    const baseOfB = await pushInput(url, 'base-models/model.keras', 'model.keras', weightsA, MediaType.modelWeightRaw);
    b = await pushModel(url, 'models/b', '1.0.0', 'keras-weights-of-B', {
      [Annotation.baseModel]: `base-models/model.keras@${baseOfB}`,
      [Annotation.dataset]: `datasets/iris.csv@${dataset}`,
      [Annotation.job]: 'job-b',
      [Annotation.trainerImage]: img,
      [Annotation.created]: '2026-11-02T00:00:00Z',
    });
    a = await pushModel(url, 'models/a', '1.0.0', weightsA, {
      [Annotation.dataset]: `datasets/iris.csv@${dataset}`,
      [Annotation.job]: 'job-a',
      [Annotation.trainerImage]: img,
      [Annotation.created]: '2026-11-01T00:00:00Z',
    });
    c = await pushModel(url, 'models/c', '2.0.0', 'keras-weights-of-C', {
      [Annotation.baseModel]: `models/b@${b}`,
      [Annotation.job]: 'job-c',
      [Annotation.trainerImage]: img,
      [Annotation.created]: '2026-11-03T00:00:00Z',
    });
    await srv.services.lineage.idle();
  });
  after(async () => srv.close());

  test('lineage(C, UPSTREAM) returns the whole chain with job and image nodes', async () => {
    const g = await gqlOk<Graph>(srv.url, LINEAGE, { ref: 'models/c:2.0.0', dir: 'UPSTREAM', depth: 10 });
    const A = `model:models/a@${a}`,
      B = `model:models/b@${b}`,
      C = `model:models/c@${c}`,
      D = `dataset:${dataset}`;
    const I = `image:${img.split('@')[1]}`;
    assert.deepEqual(
      g.lineage.nodes.map((n) => n.id).sort(),
      [A, B, C, D, I, 'job:job-a', 'job:job-b', 'job:job-c'].sort(),
    );
    assert.deepEqual(
      edgeSet(g),
      [
        `${A} TRAINED_BY job:job-a`,
        `${A} TRAINED_ON ${D}`,
        `${B} FINE_TUNED_FROM ${A}`,
        `${B} TRAINED_BY job:job-b`,
        `${B} TRAINED_ON ${D}`,
        `${C} FINE_TUNED_FROM ${B}`,
        `${C} TRAINED_BY job:job-c`,
        `job:job-a PRODUCED ${A}`,
        `job:job-a RAN_IN ${I}`,
        `job:job-b PRODUCED ${B}`,
        `job:job-b RAN_IN ${I}`,
        `job:job-c PRODUCED ${C}`,
        `job:job-c RAN_IN ${I}`,
      ].sort(),
    );
    const kinds = Object.fromEntries(g.lineage.nodes.map((n) => [n.id, n.kind]));
    assert.equal(kinds[D], 'DATASET');
    assert.equal(kinds[I], 'TRAINER_IMAGE');
    assert.equal(kinds['job:job-a'], 'JOB');
    assert.equal(g.lineage.nodes.find((n) => n.id === A)?.label, 'models/a:1.0.0');
  });

  test('impact lists versions as modelVersion shows them, documents and tags included (loaded per field)', async () => {
    const fields = 'id ref tag tags digest created framework metrics annotations aibom { name datasets } job { id }';
    const r = await gqlOk<{ impact: Record<string, unknown>[] }>(
      srv.url,
      `query($d: String!) { impact(digest: $d) { ${fields} } }`,
      { d: dataset },
    );
    assert.equal(r.impact.length, 3);
    for (const v of r.impact) {
      const one = await gqlOk<{ modelVersion: Record<string, unknown> }>(
        srv.url,
        `query($r: String!) { modelVersion(ref: $r) { ${fields} } }`,
        { r: v.ref },
      );
      assert.deepEqual(v, one.modelVersion);
    }
    const annotations = r.impact.map((v) => (v.annotations as Record<string, string> | null)?.[Annotation.job]);
    assert.deepEqual(annotations, ['job-a', 'job-b', 'job-c'], 'annotations come through the lazy path');
  });

  test('depth bounds the walk; DOWNSTREAM from the dataset reaches the fine-tuned models', async () => {
    const one = await gqlOk<Graph>(srv.url, LINEAGE, { ref: `models/c@${c}`, dir: 'UPSTREAM', depth: 1 });
    assert.deepEqual(
      one.lineage.nodes.map((n) => n.id).sort(),
      [`model:models/b@${b}`, `model:models/c@${c}`, 'job:job-c'].sort(),
    );
    const down = await gqlOk<Graph>(srv.url, LINEAGE, { ref: `dataset:${dataset}`, dir: 'DOWNSTREAM', depth: 5 });
    assert.ok(down.lineage.nodes.some((n) => n.id === `model:models/c@${c}`));
  });

  test('impact(dataset) returns A, B and C; impact of a file digest finds its holders', async () => {
    const q = 'query($d: String!) { impact(digest: $d) { repository digest tag ref } }';
    const r = await gqlOk<{ impact: { repository: string; ref: string }[] }>(srv.url, q, { d: dataset });
    assert.deepEqual(
      r.impact.map((v) => v.ref),
      ['models/a:1.0.0', 'models/b:1.0.0', 'models/c:2.0.0'],
    );
    // The CSV's own digest (a layer of the dataset artifact) names the same dataset.
    const byFile = await gqlOk<{ impact: { repository: string }[] }>(srv.url, q, { d: sha256(csv) });
    assert.deepEqual(
      byFile.impact.map((v) => v.repository),
      ['models/a', 'models/b', 'models/c'],
    );
    const ofA = await gqlOk<{ impact: { repository: string }[] }>(srv.url, q, { d: a });
    assert.deepEqual(
      ofA.impact.map((v) => v.repository),
      ['models/b', 'models/c'],
    );
    const ofImage = await gqlOk<{ impact: { repository: string }[] }>(srv.url, q, { d: img.split('@')[1] });
    assert.deepEqual(
      ofImage.impact.map((v) => v.repository),
      ['models/a', 'models/b', 'models/c'],
    );
  });

  test('models, model and modelVersion read the index', async () => {
    const r = await gqlOk<{
      models: {
        totalCount: number;
        edges: { node: { name: string; latest: { framework: string; metrics: { accuracy: number } } } }[];
      };
    }>(
      srv.url,
      '{ models(filter: { framework: "keras" }) { totalCount edges { node { name latest { framework metrics } } } } }',
    );
    assert.equal(r.models.totalCount, 3);
    assert.deepEqual(
      r.models.edges.map((e) => e.node.name),
      ['models/a', 'models/b', 'models/c'],
    );
    assert.equal(r.models.edges[0]!.node.latest.metrics.accuracy, 0.9);
    const page = await gqlOk<{
      models: { edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    }>(srv.url, '{ models(first: 2) { edges { node { name } } pageInfo { hasNextPage endCursor } } }');
    assert.equal(page.models.pageInfo.hasNextPage, true);
    const rest = await gqlOk<{ models: { edges: { node: { name: string } }[] } }>(
      srv.url,
      'query($a: String) { models(first: 2, after: $a) { edges { node { name } } } }',
      { a: page.models.pageInfo.endCursor },
    );
    assert.deepEqual(
      rest.models.edges.map((e) => e.node.name),
      ['models/c'],
    );
    const after = await gqlOk<{ models: { totalCount: number } }>(
      srv.url,
      '{ models(filter: { createdAfter: "2026-11-02T00:00:00Z", name: "models/" }) { totalCount } }',
    );
    assert.equal(after.models.totalCount, 2);
    const v = await gqlOk<{ modelVersion: { id: string; digest: string; tag: string } }>(
      srv.url,
      'query($d: String) { modelVersion(digest: $d) { id digest tag } }',
      { d: b },
    );
    assert.deepEqual(v.modelVersion, { id: `model:models/b@${b}`, digest: b, tag: '1.0.0' });
    const none = await gqlOk<{ model: null }>(srv.url, '{ model(name: "models/nope") { name } }');
    assert.equal(none.model, null);
  });

  test('errors carry codes: NOT_FOUND for unknown refs and digests, BAD_USER_INPUT for malformed input', async () => {
    const nf = await gql(srv.url, LINEAGE, { ref: 'models/nope:1.0.0' });
    assert.equal(nf.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const nf2 = await gql(srv.url, 'query($d: String!) { impact(digest: $d) { id } }', { d: sha256('nothing') });
    assert.equal(nf2.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const bad = await gql(srv.url, '{ impact(digest: "md5:abc") { id } }');
    assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const deep = await gql(srv.url, LINEAGE, { ref: `models/c@${c}`, depth: 1000 });
    assert.equal(deep.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const cur = await gql(srv.url, '{ models(after: "!!") { totalCount } }');
    assert.equal(cur.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  test('deleting B keeps the index consistent: C still names B, A and the dataset no longer reach C', async () => {
    await deleteManifest(srv.url, 'models/b', b);
    await srv.services.lineage.idle();
    const q = 'query($d: String!) { impact(digest: $d) { repository } }';
    const r = await gqlOk<{ impact: { repository: string }[] }>(srv.url, q, { d: dataset });
    assert.deepEqual(
      r.impact.map((v) => v.repository),
      ['models/a'],
    );
    const g = await gqlOk<Graph>(srv.url, LINEAGE, { ref: `models/c@${c}`, dir: 'UPSTREAM' });
    // B is now an outside model: C's claim stays, but B's own evidence (job-b, its dataset, A) is gone.
    assert.deepEqual(
      edgeSet(g).filter((e) => e.includes('FINE_TUNED_FROM') || e.includes('TRAINED_ON')),
      [`model:models/c@${c} FINE_TUNED_FROM model:models/b@${b}`],
    );
    assert.ok(!g.lineage.nodes.some((n) => n.id === 'job:job-b'));
    const m = await gqlOk<{ model: null }>(srv.url, '{ model(name: "models/b") { name } }');
    assert.equal(m.model, null);
    const nodes = await srv.services.db
      .selectFrom('lineage_nodes')
      .select('id')
      .where('id', '=', 'job:job-b')
      .execute();
    assert.equal(nodes.length, 0, 'job-b node collected');
    // A deleted tag is gone from the version.
    await deleteManifest(srv.url, 'models/a', '1.0.0');
    await srv.services.lineage.idle();
    const va = await gqlOk<{ modelVersion: { tag: string | null; ref: string } }>(
      srv.url,
      'query($r: String) { modelVersion(ref: $r) { tag ref } }',
      { r: `models/a@${a}` },
    );
    assert.deepEqual(va.modelVersion, { tag: null, ref: `models/a@${a}` });
  });
}

describe('SQLite', () => chainSuite(() => startTestServer()));

let pg: TestPostgres | undefined;
describe('PostgreSQL', () => {
  before(async () => {
    pg = await startPostgres();
  });
  chainSuite(async () => {
    if (!pg) throw new Error('PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin) are needed for this suite');
    return startTestServer({ databaseUrl: await pg.database(`chain_${process.pid}`) });
  });
  // Registered after the suite's own hooks: the server (and its connection pool) closes before the cluster stops.
  after(async () => pg?.stop());
});
