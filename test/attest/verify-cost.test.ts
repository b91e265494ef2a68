/**
 * GraphQL verification is costed by how many verifications a request asks for: `verification` on every version
 * of a long list (or many aliased `verify` fields, which the static cost analysis prices like any field) is
 * refused by the cost limit before any verification runs; a short list is verified, in one batch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType } from '../../schema/media-types.ts';
import { queryLimits } from '../../server/graphql/area.ts';
import { PLATFORM } from '../../server/identity.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { publishSample } from '../cli/published.ts';

let srv: TestServer;
const maxVerifications = Math.floor(queryLimits.maxCost / queryLimits.verificationCost);

/** Model versions pushed straight to the registry (no evidence: each verification just fails). */
async function pushVersions(repo: string, n: number): Promise<void> {
  const t = srv.services.registry.as(PLATFORM);
  const config = await t.pushBlob(repo, Buffer.from('{}'), MediaType.ociEmpty);
  for (let i = 0; i < n; i++) {
    const layer = await t.pushBlob(repo, Buffer.from(`weights ${i}`), MediaType.modelWeightRaw, {
      'org.opencontainers.image.title': 'w.bin',
    });
    const m = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: MediaType.modelManifestArtifact,
      config,
      layers: [layer],
    };
    await t.pushManifest(repo, `v${i}`, Buffer.from(JSON.stringify(m)));
  }
}

async function graphql(
  query: string,
): Promise<{ data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as never;
}

/** Verifications the server ran so far (its /metrics counter). */
async function verificationsRun(): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  return [...text.matchAll(/^aibomgen_verifications_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

before(async () => {
  srv = await startTestServer({ auth: 'off' });
  await pushVersions('models/many', maxVerifications + 5);
  await pushVersions('models/few', 3);
  await publishSample(srv, 'costed', '1.0.0');
  await srv.services.lineage.idle();
});
after(async () => {
  await srv.close();
});

test('verification of every version of a long list is refused by the cost limit, and none runs', async () => {
  assert.ok(maxVerifications >= 2 && maxVerifications < 100, `${maxVerifications} verifications per request`);
  const before = await verificationsRun();
  const r = await graphql('{ model(name: "models/many") { versions { digest verification { verified } } } }');
  assert.ok(r.errors?.length, 'refused');
  assert.match(r.errors![0]!.message, new RegExp(`Query Cost limit of ${queryLimits.maxCost} exceeded`));
  assert.equal(r.errors![0]!.extensions?.code, 'BAD_USER_INPUT');
  // The same through aliases of the top-level verify (each priced like any field by the static analysis).
  const aliased = Array.from(
    { length: maxVerifications + 1 },
    (_, i) => `a${i}: verify(ref: "models/many:v${i}") { verified }`,
  );
  const r2 = await graphql(`{ ${aliased.join(' ')} }`);
  assert.match(r2.errors?.[0]?.message ?? '', /Query Cost limit/);
  assert.equal(await verificationsRun(), before, 'no verification ran');
});

test('a short list is verified in one request; a published model among them verifies', async () => {
  const before = await verificationsRun();
  const r = await graphql('{ model(name: "models/few") { versions { verification { verified } } } }');
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const versions = (r.data as { model: { versions: { verification: { verified: boolean } }[] } }).model.versions;
  assert.equal(versions.length, 3);
  assert.ok(
    versions.every((v) => v.verification.verified === false),
    'no evidence: each fails, none throws',
  );
  const ok = await graphql('{ modelVersion(ref: "models/costed:1.0.0") { verification { verified } } }');
  assert.deepEqual(ok.data, { modelVersion: { verification: { verified: true } } });
  assert.equal(await verificationsRun(), before + 4);
});
