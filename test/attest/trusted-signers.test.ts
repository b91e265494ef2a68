/**
 * Verification against a SET of trusted signer keys (per-worker keys): a model whose evidence is all signed by a
 * second key B (published by the real publisher with B) counts only while B is in the set; every verdict names B's
 * key id; a layout signed by the root key yields its functionaries as the set (and a changed byte yields nothing);
 * the lineage index drops what B signed once B is untrusted; the CLI verifies with --layout alone.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import pino from 'pino';
import { keyHint } from '../../server/attest/dsse.ts';
import { checkCosignSignature, checkEvidence } from '../../server/attest/evidence-check.ts';
import { initKeys, KEY_FILES, keyIds, keysDir, publicPem, readPublicPem } from '../../server/attest/keys.ts';
import { type Layout, layoutBody, signLayout } from '../../server/attest/layout.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import { layoutSigners, LayoutSignersError } from '../../server/attest/signers.ts';
import { verifyModel } from '../../server/attest/verify-chain.ts';
import type { AppEnv } from '../../server/context.ts';
import type { Publication, VerificationReport } from '../../server/contracts.ts';
import { openDatabase } from '../../server/db/connect.ts';
import { LineageIndexer } from '../../server/lineage/indexer.ts';
import { evidenceByVersions } from '../../server/lineage/queries.ts';
import { judgeReferrer } from '../../server/lineage/trust.ts';
import { OciClient } from '../../server/oci/client.ts';
import { mountVerifierRoutes } from '../../server/verifier/routes.ts';
import { aibomgen, cliHome, json } from '../cli/run.ts';
import { type Distribution, startDistribution } from '../helpers/distribution.ts';
import { finishedJob } from '../helpers/job-outcome.ts';
import { readGenuine } from './verify-helpers.ts';

/** The public PEM of a key (either half), as the key files hold it. */
const pemOf = (k: KeyObject): string => publicPem(k);

/** A layout naming every PEM as a functionary of each step (threshold 1), signed by `root` (both key-id forms). */
function layoutListing(root: KeyObject, pems: string[]): Layout {
  return signLayout(root, layoutBody({ functionaryPems: pems, expires: new Date(Date.now() + 86_400_000) }));
}

let dir: string;
let reg: Distribution;
let pub: Publication;
let A: string; // the platform key (PEM)
let B: string; // a worker's key (PEM)
let rootKey: KeyObject;
let rootPem: string;
let ref: string; // repo:tag in the registry
const idB = (): string => keyHint(B);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attest-signers-'));
  reg = await startDistribution();
  await initKeys(keysDir(dir));
  A = await readPublicPem(keysDir(dir), KEY_FILES.platformPub);
  rootKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  rootPem = pemOf(rootKey);
  const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  B = pemOf(b.privateKey);
  // The real publisher, signing every piece of evidence with the worker's key B.
  const publisher = createPublisher({
    target: new OciClient(reg.url),
    registryHost: reg.hostPort,
    loadKey: async () => b.privateKey,
  });
  pub = await publisher.publish(
    finishedJob(join(dir, 'job'), 'worker-b', { modelName: 'signers', modelVersion: '1.0.0', at: '2026-12-05T09:00' }),
  );
  ref = pub.ref.replace(`${reg.hostPort}/`, '');
});
after(async () => {
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const failed = (r: VerificationReport) => r.checks.filter((c) => !c.passed);
const check = (r: VerificationReport, name: string) => r.checks.find((c) => c.name === name);

test('evidence signed by B: refused with [A] (naming B), counted with [A, B] (every verdict names B)', async () => {
  const t = new OciClient(reg.url);
  const onlyA = await verifyModel(t, ref, { signers: [A] });
  assert.equal(onlyA.verified, false);
  const link = keyIds(B).legacy;
  assert.match(
    check(onlyA, 'in-toto link present')?.reason ?? '',
    new RegExp(`signed by key ${link}, which is not a trusted signer`),
  );
  assert.match(
    check(onlyA, 'AIBoM present')?.reason ?? '',
    new RegExp(`signed by key ${idB()}, which is not a trusted signer`),
  );
  assert.match(check(onlyA, 'cosign signature')?.reason ?? '', /does not verify with any trusted signer key/);

  const both = await verifyModel(t, ref, { signers: [A, B] });
  assert.equal(both.verified, true, JSON.stringify(failed(both)));
  for (const name of [
    'in-toto link signature',
    'AIBoM signature',
    'DSSE https://cyclonedx.org/bom signature',
    'DSSE https://slsa.dev/provenance/v1 signature',
    'cosign signature',
  ])
    assert.equal(
      check(both, `${name} by key ${idB()}`)?.passed,
      true,
      `${name} names B: ${JSON.stringify(both.checks)}`,
    );
  // The order of the set does not matter, and B alone suffices.
  assert.equal((await verifyModel(t, ref, { signers: [B] })).verified, true);

  // Each referrer's own verdict names B as its signer.
  const g = await readGenuine(t, pub.repository, pub.digest, pub.attestations);
  const subject = {
    digest: pub.digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: g.model.bytes.byteLength,
    files: {} as Record<string, string>,
  };
  const linkDoc = JSON.parse(g.refs['in-toto-link'].blob.toString('utf8')) as {
    signed: { products: Record<string, { sha256: string }> };
  };
  for (const [k, v] of Object.entries(linkDoc.signed.products))
    if (k.startsWith('outputs/')) subject.files[k] = v.sha256;
  for (const kind of Object.keys(g.refs) as (keyof typeof g.refs)[]) {
    const v = await checkEvidence(t, pub.repository, subject, g.refs[kind].digest, [A, B]);
    assert.equal(v.verified, true, `${kind}: ${v.reason}`);
    assert.equal(v.signerKeyId, idB(), kind);
    const refused = await checkEvidence(t, pub.repository, subject, g.refs[kind].digest, [A]);
    assert.equal(refused.verified, false, kind);
    assert.equal(refused.signerKeyId, null, kind);
    // Formats that name their key say which (model.sig by its model-signing hint); the rest name none.
    const named = kind === 'in-toto-link' || kind === 'aibom' || kind === 'model-signature';
    assert.match(
      refused.reason ?? '',
      named ? /, which is not a trusted signer$/ : /signature verification failed/,
      kind,
    );
  }
  assert.equal((await checkCosignSignature(t, pub.repository, pub.digest, [A, B])).signerKeyId, idB());
});

test('layoutSigners: the functionaries of a layout signed by the root key; a changed byte or another root yields none', async () => {
  const L = layoutListing(rootKey, [A, B]);
  assert.deepEqual(layoutSigners(L, rootPem), [A, B]);

  const changed = structuredClone(L);
  const k = changed.signed.keys[keyIds(B).legacy]!;
  const at = k.keyval.public.indexOf('\n') + 10; // a byte inside the base64 body
  const c = k.keyval.public[at] === 'A' ? 'B' : 'A';
  k.keyval.public = `${k.keyval.public.slice(0, at)}${c}${k.keyval.public.slice(at + 1)}`;
  assert.throws(
    () => layoutSigners(changed, rootPem),
    (e) => e instanceof LayoutSignersError && /not signed by the given root key/.test(e.message),
  );
  assert.throws(() => layoutSigners(L, A), /not signed by the given root key/, 'another root key');
  assert.throws(() => layoutSigners(L, 'not a key'), /root key is not a PEM public key/);

  // The chain with the layout's set and its in-toto checks: B is a functionary, so the link's step passes.
  const t = new OciClient(reg.url);
  const r = await verifyModel(t, ref, { signers: layoutSigners(L, rootPem), layout: L, rootPem });
  assert.equal(r.verified, true, JSON.stringify(failed(r)));
  assert.equal(check(r, 'in-toto link signatures')?.passed, true);
  // A layout without B: its set refuses the model, and so does its in-toto step.
  const onlyA = layoutListing(rootKey, [A]);
  const r2 = await verifyModel(t, ref, { signers: layoutSigners(onlyA, rootPem), layout: onlyA, rootPem });
  assert.equal(r2.verified, false);
  assert.match(check(r2, 'in-toto link present')?.reason ?? '', /not a trusted signer/);
});

test('POST /verifier/verify_bom_and_link: the AIBoM counts with a set holding B and names B; without B it is refused', async () => {
  const t = new OciClient(reg.url);
  const g = await readGenuine(t, pub.repository, pub.digest, pub.attestations);
  const body = JSON.stringify({
    link: JSON.parse(g.refs['in-toto-link'].blob.toString('utf8')),
    bom: JSON.parse(g.refs.aibom.blob.toString('utf8')),
  });
  const L = layoutListing(rootKey, [A, B]);
  const post = async (signers: string[]) => {
    const app = new Hono<AppEnv>();
    mountVerifierRoutes(app, {
      layout: async () => L,
      rootPem: async () => rootPem,
      signers: async () => signers,
      verifyRef: () => Promise.reject(new Error('not used')),
    });
    const res = await app.request('/verifier/verify_bom_and_link', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const ok = await post([A, B]);
  assert.equal(ok.body.bom_signature, true, JSON.stringify(ok.body));
  assert.equal(ok.body.bom_signer_key_id, idB());
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const no = await post([A]);
  assert.equal(no.status, 422);
  assert.equal(no.body.bom_signature, false);
  assert.match(
    String(no.body.bom_signature_reason),
    new RegExp(`signed by key ${idB()}, which is not a trusted signer`),
  );
});

test('lineage: evidence indexed as verified by B turns unverified (with the reason) after untrustSigner', async () => {
  const db = await openDatabase(':memory:');
  try {
    const store = new OciClient(reg.url);
    const indexer = new LineageIndexer(db, store, pino({ level: 'silent' }), async () => [A, B]);
    const put = async (r: string, tag?: string) => {
      const m = (await store.getManifest(pub.repository, r))!;
      await indexer.manifestPut({
        repo: pub.repository,
        digest: m.digest,
        mediaType: m.mediaType,
        bytes: m.bytes,
        ...(tag ? { tag } : {}),
      });
    };
    await put(pub.digest, '1.0.0');
    for (const a of pub.attestations.filter((x) => x.kind !== 'cosign-signature')) await put(a.digest);
    const sigTag = `${pub.digest.replace(':', '-')}.sig`;
    await put(sigTag, sigTag);
    const version = { id: `model:${pub.repository}@${pub.digest}`, repo: pub.repository, digest: pub.digest };
    const before = (await evidenceByVersions(db, [version])).get(version.id)!;
    assert.equal(before.attestations.length, pub.attestations.length, JSON.stringify(before.unverified));
    assert.ok(before.attestations.every((a) => a.signerKeyId === idB()));
    const v0 = await db
      .selectFrom('lineage_versions')
      .select(['aibom_json'])
      .where('id', '=', version.id)
      .executeTakeFirst();
    assert.ok(v0?.aibom_json, 'the verified AIBoM speaks for the version');

    const affected = await indexer.untrustSigner(idB(), 'worker w-b revoked');
    assert.deepEqual(affected, [{ repo: pub.repository, digest: pub.digest }]);
    const rows = await db
      .selectFrom('lineage_manifests')
      .select(['verified', 'signer_key_id', 'trust_reason'])
      .where('trust_reason', 'like', `%${idB()}%`)
      .execute();
    assert.equal(rows.length, pub.attestations.length);
    assert.ok(
      rows.every(
        (r) => r.verified === 0 && r.signer_key_id === null && /worker w-b revoked/.test(r.trust_reason ?? ''),
      ),
    );
    // What GraphQL and the dashboard read: nothing B signed is an attestation any more; each is listed, with why.
    const afterwards = (await evidenceByVersions(db, [version])).get(version.id)!;
    assert.deepEqual(afterwards.attestations, []);
    assert.equal(afterwards.unverified.length, pub.attestations.length);
    assert.ok(afterwards.unverified.every((u) => u.reason.includes(idB())));
    const v1 = await db
      .selectFrom('lineage_versions')
      .select(['aibom_json'])
      .where('id', '=', version.id)
      .executeTakeFirst();
    assert.equal(v1?.aibom_json, null, 'the AIBoM B signed no longer speaks for the version');

    // Judged again with B out of the set (as anything indexed after the revocation is): not counted, naming B.
    const link = pub.attestations.find((a) => a.kind === 'in-toto-link')!.digest;
    const again = await judgeReferrer(store, pub.repository, link, pub.digest, async () => [A]);
    assert.equal(again.verified, 0);
    assert.match(again.trust_reason ?? '', /which is not a trusted signer/);
  } finally {
    await db.destroy();
  }
});

test('aibomgen verify --layout L --layout-key root.pub (no --key) verifies a model signed by B when L lists B', async () => {
  const files = join(dir, 'cli');
  mkdirSync(files, { recursive: true });
  const f = (name: string, content: string): string => {
    writeFileSync(join(files, name), content);
    return join(files, name);
  };
  const L = f('root.layout', JSON.stringify(layoutListing(rootKey, [A, B]), null, 2));
  const root = f('root.pub', rootPem);
  const a = f('platform.pub', A);
  const b = f('worker-b.pub', B);
  const { env } = cliHome();
  const full = `${reg.hostPort}/${ref}`;

  const viaLayout = await aibomgen(['verify', full, '--layout', L, '--layout-key', root, '--json'], { env });
  assert.equal(viaLayout.status, 0, viaLayout.stderr);
  const report = json<VerificationReport>(viaLayout);
  assert.equal(report.verified, true);
  assert.ok(report.checks.some((c) => c.name === `AIBoM signature by key ${idB()}` && c.passed));
  assert.equal(report.checks.find((c) => c.name === 'in-toto layout signature')?.passed, true);

  // The old single --key: refused with A alone (naming B), accepted with --key repeated.
  const onlyA = await aibomgen(['verify', full, '--key', a], { env });
  assert.equal(onlyA.status, 4, onlyA.stdout + onlyA.stderr);
  assert.match(onlyA.stdout, /not a trusted signer/);
  const both = await aibomgen(['verify', full, '--key', a, '--key', b], { env });
  assert.equal(both.status, 0, both.stdout + both.stderr);

  // A layout whose signature does not verify with the root key yields no signers: refused, not trusted.
  const other = f('other-root.pub', A);
  const bad = await aibomgen(['verify', full, '--layout', L, '--layout-key', other], { env });
  assert.equal(bad.status, 4, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /yields no signers: the layout is not signed by the given root key/);
});
