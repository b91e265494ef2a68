/**
 * Verification is total and picks evidence by signature and subject. One model is published (the in-process
 * publisher, the test server's registry); then, from a fixed seed, over a thousand mutated pieces of its
 * evidence are attached — its link, AIBoM and DSSE bundles changed as blobs and as manifests, its cosign `.sig`
 * manifest and the model manifest itself changed — and verified. Verification never throws; a mutated piece
 * never counts: the only one of its kind → the model fails; beside the genuine one → the model passes by the
 * genuine one, the mutant listed as "not counted". Pieces that differ only in annotations (the same signed
 * evidence re-wrapped) are the one exception, and count.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { MediaType } from '../../schema/media-types.ts';
import { KEY_FILES, keysDir } from '../../server/attest/keys.ts';
import { type TrustKeys, verifyModel } from '../../server/attest/verify-chain.ts';
import type { Publication, VerificationReport } from '../../server/contracts.ts';
import { PLATFORM } from '../../server/identity.ts';
import { digestOf } from '../../server/oci/digest.ts';
import type { OciTarget } from '../../server/oci/target.ts';
import { publishSample } from '../cli/published.ts';
import { aibomgen, cliHome } from '../cli/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type Genuine, readGenuine } from './verify-helpers.ts';
import {
  type ManifestMutant,
  mutateBlob,
  mutateManifest,
  mutateModelManifest,
  mutateSignatureManifest,
  type Pointables,
} from './verify-mutations.ts';

const SEED = 'aibomgen-verify-fuzz-1';
const KINDS = ['in-toto-link', 'aibom', 'aibom-signature', 'slsa-provenance', 'model-signature', 'spdx'] as const;
/** Per kind: blob mutants and manifest mutants attached at once. */
const BLOB_MUTANTS = 240;
const MANIFEST_MUTANTS = 100;
const MODEL_MUTANTS = 120;
const SIG_MUTANTS = 60;

let srv: TestServer;
let pub: Publication;
let platform: OciTarget;
let g: Genuine;
let keys: TrustKeys;
let at: Pointables & {
  badPayload: Awaited<ReturnType<OciTarget['pushBlob']>>;
  badConfig: Awaited<ReturnType<OciTarget['pushBlob']>>;
};
const rng = seedrandom(SEED);
const REPO = 'models/fuzz';
const REF = `${REPO}:1.0.0`;
let attachedTotal = 0;

/** Verification must answer a report (never throw) whose `verified` is consistent with its checks. */
async function verify(ref: string): Promise<VerificationReport> {
  const r = await verifyModel(platform, ref, keys);
  assert.equal(
    r.verified,
    r.checks.every((c) => c.passed),
    `${ref}: verified must be every check passing`,
  );
  return r;
}
const failures = (r: VerificationReport): string =>
  r.checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name}: ${c.reason}`)
    .join(' | ');

/** Pushes a manifest by digest; undefined when the registry refuses it (nothing stored then). */
async function put(m: Record<string, unknown> | Buffer, ref?: string): Promise<string | undefined> {
  const bytes = Buffer.isBuffer(m) ? m : Buffer.from(JSON.stringify(m));
  try {
    const mediaType = Buffer.isBuffer(m) ? MediaType.ociManifest : String(m.mediaType ?? MediaType.ociManifest);
    return (await platform.pushManifest(REPO, ref ?? digestOf(bytes), bytes, mediaType)).digest;
  } catch {
    return undefined;
  }
}

before(async () => {
  srv = await startTestServer({ auth: 'off' });
  pub = (await publishSample(srv, 'fuzz', '1.0.0')).pub;
  const other = (await publishSample(srv, 'fuzz-other', '1.0.0')).pub;
  platform = srv.services.registry.as(PLATFORM);
  g = await readGenuine(platform, REPO, pub.digest, pub.attestations);
  const k = keysDir(srv.dataDir);
  keys = {
    signers: [readFileSync(join(k, KEY_FILES.platformPub), 'utf8')],
    rootPem: readFileSync(join(k, KEY_FILES.rootPub), 'utf8'),
    layout: JSON.parse(readFileSync(join(k, KEY_FILES.layout), 'utf8')),
  };
  const otherModel = (await platform.getManifest(other.repository, other.digest))!;
  const modelJson = g.model.json as { config: Pointables['modelConfig'] };
  at = {
    // Over the 16 MiB evidence cap: a referrer pointing at it must be refused unread.
    huge: await platform.pushBlob(REPO, Buffer.alloc(17 << 20, 7), 'application/octet-stream'),
    otherBlob: await platform.pushBlob(REPO, Buffer.from('{"other":true}'), 'application/json'),
    modelConfig: modelJson.config,
    model: { digest: pub.digest, size: g.model.bytes.byteLength },
    otherManifest: { digest: other.digest, size: otherModel.bytes.byteLength },
    badPayload: await platform.pushBlob(
      REPO,
      Buffer.from(g.sig.payload.toString('utf8').replace(pub.digest, other.digest)),
      'application/vnd.dev.cosign.simplesigning.v1+json',
    ),
    badConfig: await platform.pushBlob(REPO, Buffer.from('{"rootfs":{"diff_ids":[]}}'), MediaType.ociConfig),
  };
  const r = await verify(REF);
  assert.equal(r.verified, true, failures(r));
});
after(async () => {
  await srv.close();
});

test('mutated model manifests: verification answers (never throws) and never passes', async () => {
  let n = 0;
  for (let i = 0; i < MODEL_MUTANTS; i++) {
    const m = mutateModelManifest(rng, g.model.json, at);
    const d = await put(m.manifest);
    if (!d || d === pub.digest) continue; // a mutation that changed nothing
    n++;
    const r = await verify(`${REPO}@${d}`);
    assert.equal(r.verified, false, `model mutant "${m.what}" passed`);
    assert.equal(r.digest, d);
  }
  // A referrer posing as the model, and one whose subject is another referrer: one level, no recursion.
  for (const d of [g.refs.aibom.digest, g.refs['in-toto-link'].digest])
    assert.equal((await verify(`${REPO}@${d}`)).verified, false);
  // Over the edges too: REST answers 422 with the report, GraphQL a report, never a 500.
  const sample = await put(mutateModelManifest(rng, g.model.json, at).manifest);
  if (sample) {
    const res = await fetch(`${srv.url}/verifier/verify/${REPO}@${sample}`);
    assert.equal(res.status, 422);
    const gql = await fetch(`${srv.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ verify(ref: "${REPO}@${sample}") { verified } }` }),
    });
    assert.deepEqual(await gql.json(), { data: { verify: { verified: false } } });
  }
  assert.ok(n >= MODEL_MUTANTS * 0.8, `${n} model mutants stored`);
  attachedTotal += n;
});

test('mutated cosign signature manifests: the model fails unless only annotations changed', async () => {
  let n = 0;
  try {
    for (let i = 0; i < SIG_MUTANTS; i++) {
      const m = mutateSignatureManifest(rng, g.sig.json, at);
      if (!(await put(m.manifest, g.sig.tag))) continue;
      n++;
      const r = await verify(REF);
      assert.equal(r.verified, m.equivalent, `.sig mutant "${m.what}": ${failures(r)}`);
      if (!m.equivalent) assert.match(failures(r), /cosign signature/);
    }
  } finally {
    await put(g.sig.manifest, g.sig.tag);
  }
  assert.equal((await verify(REF)).verified, true);
  attachedTotal += n;
});

test('over a thousand mutated referrers attached at once: the model passes by the genuine evidence only; without it, fails', async () => {
  const mutants = new Map<string, { kind: (typeof KINDS)[number]; what: string }>();
  const equivalents: { kind: (typeof KINDS)[number]; manifest: Record<string, unknown> }[] = [];
  for (const kind of KINDS) {
    const piece = g.refs[kind];
    const others = KINDS.filter((k) => k !== kind).map((k) => g.refs[k].blob);
    for (let i = 0; i < BLOB_MUTANTS; i++) {
      const b = mutateBlob(rng, piece.blob, others);
      const layer = await platform.pushBlob(REPO, b.bytes, piece.layer.mediaType, piece.layer.annotations);
      const m = structuredClone(piece.json) as { layers: unknown[] };
      m.layers = [layer];
      const d = await put(m);
      if (d && d !== piece.digest) mutants.set(d, { kind, what: `blob: ${b.what}` });
    }
    for (let i = 0; i < MANIFEST_MUTANTS; i++) {
      const m: ManifestMutant = mutateManifest(rng, piece.json, at);
      if (m.equivalent) {
        equivalents.push({ kind, manifest: m.manifest });
        continue;
      }
      const d = await put(m.manifest);
      if (d && d !== piece.digest) mutants.set(d, { kind, what: `manifest: ${m.what}` });
    }
  }
  // Referrers that are not manifests of evidence at all: an index about the model, empty and listing it.
  for (const manifests of [[], [{ mediaType: MediaType.ociManifest, ...at.model }]]) {
    const d = await put({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests,
      subject: { mediaType: MediaType.ociManifest, ...at.model },
    });
    assert.ok(d, 'an index referrer is stored');
    mutants.set(d, { kind: 'aibom', what: 'an index' });
  }
  attachedTotal += mutants.size;
  assert.ok(attachedTotal >= 1000, `${attachedTotal} mutated referrers and manifests attached`);

  const notCounted = (r: VerificationReport, d: string): string | undefined =>
    r.checks.find((c) => c.name === `attachment ${d}` && c.passed)?.reason;
  const all = await verify(REF);
  assert.equal(all.verified, true, failures(all));
  for (const [d, m] of mutants) {
    const why = notCounted(all, d);
    assert.ok(why, `${m.kind} mutant (${m.what}) ${d} must be listed as not counted`);
    assert.doesNotMatch(why, /another verified/, `${m.kind} mutant (${m.what}) verified: ${why}`);
  }
  for (const kind of KINDS) assert.equal(notCounted(all, g.refs[kind].digest), undefined, `genuine ${kind} counted`);

  // Each kind's genuine piece taken away: its mutants alone never stand in for it.
  for (const kind of KINDS) {
    await platform.deleteManifest(REPO, g.refs[kind].digest);
    try {
      const r = await verify(REF);
      assert.equal(r.verified, false, `${kind}: a mutant stood in for the genuine piece`);
    } finally {
      await put(g.refs[kind].manifest);
    }
  }

  // The same signed evidence with only its annotations changed is the genuine evidence, and counts.
  for (const e of equivalents.slice(0, 4)) {
    await platform.deleteManifest(REPO, g.refs[e.kind].digest);
    const d = await put(e.manifest);
    try {
      const r = await verify(REF);
      assert.equal(r.verified, true, `${e.kind} re-wrapped: ${failures(r)}`);
    } finally {
      if (d) await platform.deleteManifest(REPO, d);
      await put(g.refs[e.kind].manifest);
    }
  }

  // The same over HTTP, GraphQL and the CLI with every mutant attached: verified, not a 500.
  const rest = await fetch(`${srv.url}/verifier/verify/${REF}`);
  assert.equal(rest.status, 200);
  const gql = (await (
    await fetch(`${srv.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ verify(ref: "${REF}") { verified } }` }),
    })
  ).json()) as { data: { verify: { verified: boolean } } };
  assert.equal(gql.data.verify.verified, true);
  const cli = await aibomgen(['--server', srv.url, 'verify', REF], { env: cliHome().env });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /^VERIFIED /);
  assert.match(cli.stdout, /warn attachment sha256:/);
  // And the lineage index lists them as unverified attachments, the genuine ones as attestations.
  await srv.services.lineage.idle();
  const v = (await (
    await fetch(`${srv.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `{ modelVersion(ref: "${REF}") { attestations { digest } unverifiedAttachments { digest } } }`,
      }),
    })
  ).json()) as {
    data: { modelVersion: { attestations: { digest: string }[]; unverifiedAttachments: { digest: string }[] } };
  };
  assert.deepEqual(
    v.data.modelVersion.attestations.map((a) => a.digest).sort(),
    pub.attestations.map((a) => a.digest).sort(),
  );
  const listed = new Set(v.data.modelVersion.unverifiedAttachments.map((u) => u.digest));
  for (const d of mutants.keys()) assert.ok(listed.has(d), `${d} listed as unverified`);
});
