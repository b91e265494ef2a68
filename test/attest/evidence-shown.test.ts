/**
 * Evidence shown = evidence verified. Forged AIBoM referrers attached to a published model — unsigned, signed
 * with another key, another model's genuine AIBoM (a replay) — never become what GraphQL, the lineage graph,
 * the dashboard or `aibomgen bom show` present: those show the AIBoM signed by the platform key and about this
 * manifest, and list the rest as unverified attachments (their claimed signer marked unverified). Whatever the
 * order or dates of the referrers. With auth off (anyone may push) and for an administrator (auth on).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { MediaType } from '../../schema/media-types.ts';
import { type BomJson, signAibom } from '../../server/attest/aibom.ts';
import { keyHint } from '../../server/attest/dsse.ts';
import { KEY_FILES, keysDir } from '../../server/attest/keys.ts';
import type { Publication } from '../../server/contracts.ts';
import { PLATFORM } from '../../server/identity.ts';
import { OciClient } from '../../server/oci/client.ts';
import type { OciTarget } from '../../server/oci/target.ts';
import { publishSample } from '../cli/published.ts';
import { aibomgen, cliHome, json } from '../cli/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { attach, readGenuine } from './verify-helpers.ts';

const REPO = 'models/shown';
const STOLEN = `sha256:${'ab'.repeat(32)}`;
let srv: TestServer;
let pub: Publication;
let platformKeyId: string;
const forged: { unsigned: string; foreign: string; replayed: string; foreignHint: string } = {
  unsigned: '',
  foreign: '',
  replayed: '',
  foreignHint: '',
};

/** The genuine AIBoM with what a forger would change: the author, a dataset, the isolation claim. */
function forge(doc: BomJson): BomJson {
  const f = structuredClone(doc) as BomJson & {
    metadata: { component: Record<string, unknown> };
    formulation: { workflows: { properties: { name: string; value: string }[] }[] }[];
  };
  f.metadata.component.author = 'Mallory';
  f.components = [
    ...(f.components ?? []),
    {
      type: 'data',
      name: 'stolen.csv',
      'bom-ref': 'input:stolen',
      hashes: [{ alg: 'SHA-256', content: STOLEN.slice(7) }],
    },
  ];
  for (const p of f.formulation[0]!.workflows[0]!.properties) if (p.name === 'aibomgen:env:isolated') p.value = 'true';
  return f;
}

async function attachForgeries(s: TestServer, p: Publication, other: Publication, push: OciTarget) {
  const platform = s.services.registry.as(PLATFORM);
  const genuine = await readGenuine(platform, p.repository, p.digest, p.attestations);
  const doc = JSON.parse(genuine.refs.aibom.blob.toString('utf8')) as BomJson;
  const subject = { digest: p.digest, size: genuine.model.bytes.byteLength };
  const { signature: _s, ...unsigned } = forge(doc);
  void _s;
  const foreignKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreignHint = keyHint(foreignKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const otherGenuine = await readGenuine(platform, other.repository, other.digest, other.attestations);
  const at = MediaType.cyclonedxJson;
  return {
    unsigned: await attach(push, p.repository, subject, at, Buffer.from(JSON.stringify(unsigned))),
    foreign: await attach(
      push,
      p.repository,
      subject,
      at,
      Buffer.from(JSON.stringify(signAibom(forge(doc), foreignKey.privateKey))),
    ),
    replayed: await attach(push, p.repository, subject, at, otherGenuine.refs.aibom.blob),
    foreignHint,
  };
}

type VersionView = {
  aibom: { author: string; datasets: string[]; isolated: boolean } | null;
  aibomDocument: { metadata: { component: { author: string } } } | null;
  attestations: { kind: string; digest: string; signerKeyId: string }[];
  unverifiedAttachments: {
    digest: string;
    artifactType: string;
    signerHint: string | null;
    verified: boolean;
    reason: string;
  }[];
  verification: { verified: boolean; checks: { name: string; passed: boolean; reason: string | null }[] };
};
const VERSION_QUERY = `query($r: String) { modelVersion(ref: $r) {
  aibom { author datasets isolated } aibomDocument attestations { kind digest signerKeyId }
  unverifiedAttachments { digest artifactType signerHint verified reason }
  verification { verified checks { name passed reason } } } }`;

async function graphql<T>(s: TestServer, query: string, variables: object, token?: string): Promise<T> {
  const res = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!;
}

/** What every surface must show: the genuine AIBoM's facts, the forged ones listed and not counted. */
async function assertShowsGenuine(s: TestServer, p: Publication, f: typeof forged, token?: string): Promise<void> {
  await s.services.lineage.idle();
  const v = (await graphql<{ modelVersion: VersionView }>(s, VERSION_QUERY, { r: `${REPO}:1.0.0` }, token))
    .modelVersion;
  const dataset = p.inputs.find((i) => i.role === 'dataset')!;
  assert.deepEqual(v.aibom, { author: 'Ada', datasets: [`${dataset.repository}@${dataset.digest}`], isolated: false });
  assert.equal(v.aibomDocument?.metadata.component.author, 'Ada');
  assert.deepEqual(
    v.attestations.map((a) => a.digest).sort(),
    p.attestations.map((a) => a.digest).sort(),
    'only the genuine evidence is listed as attestations',
  );
  assert.ok(v.attestations.every((a) => a.signerKeyId === platformKeyId));
  const byDigest = new Map(v.unverifiedAttachments.map((u) => [u.digest, u]));
  assert.deepEqual([...byDigest.keys()].sort(), [f.unsigned, f.foreign, f.replayed].sort());
  assert.ok(v.unverifiedAttachments.every((u) => u.verified === false && u.artifactType === MediaType.cyclonedxJson));
  assert.match(byDigest.get(f.unsigned)!.reason, /no JSF signature/);
  assert.equal(byDigest.get(f.unsigned)!.signerHint, null);
  assert.match(
    byDigest.get(f.foreign)!.reason,
    new RegExp(`signed by key ${f.foreignHint}, which is not a trusted signer`),
  );
  assert.equal(byDigest.get(f.foreign)!.signerHint, f.foreignHint, 'the claimed signer is listed, as a hint');
  assert.match(byDigest.get(f.replayed)!.reason, /describes sha256:[0-9a-f]{64}, not/);
  // Verification counts the genuine pieces only; the forged ones are warnings that fail nothing.
  assert.equal(v.verification.verified, true, JSON.stringify(v.verification.checks.filter((c) => !c.passed)));
  for (const d of [f.unsigned, f.foreign, f.replayed])
    assert.match(v.verification.checks.find((c) => c.name === `attachment ${d}`)?.reason ?? '', /not counted/);
  const g = await graphql<{ lineage: { nodes: { id: string }[] } }>(
    s,
    'query($r: String!) { lineage(ref: $r, direction: UPSTREAM) { nodes { id } } }',
    { r: `${REPO}:1.0.0` },
    token,
  );
  assert.ok(!g.lineage.nodes.some((n) => n.id === `dataset:${STOLEN}`), 'the forged dataset is not in the graph');
}

before(async () => {
  srv = await startTestServer({ auth: 'off' });
  pub = (await publishSample(srv, 'shown', '1.0.0')).pub;
  const other = (await publishSample(srv, 'other', '1.0.0')).pub;
  platformKeyId = keyHint(readFileSync(join(keysDir(srv.dataDir), KEY_FILES.platformPub), 'utf8'));
  // Auth off: anyone may push, here anonymously over /v2/.
  Object.assign(forged, await attachForgeries(srv, pub, other, new OciClient(srv.url)));
});
after(async () => {
  await srv.close();
});

test('GraphQL, lineage and verification show the AIBoM that verifies, whatever the referrers order or dates', async () => {
  await assertShowsGenuine(srv, pub, forged);
  // The genuine AIBoM re-put: now the newest by date, the forged ones first. Then a forged one re-put: newest.
  const platform = srv.services.registry.as(PLATFORM);
  const g = await readGenuine(platform, REPO, pub.digest, pub.attestations);
  await platform.deleteManifest(REPO, g.refs.aibom.digest);
  await platform.pushManifest(REPO, g.refs.aibom.digest, g.refs.aibom.manifest);
  assert.equal(
    (await platform.referrers(REPO, pub.digest, MediaType.cyclonedxJson)).at(-1)?.digest,
    g.refs.aibom.digest,
  );
  await assertShowsGenuine(srv, pub, forged);
  const again = (await platform.getManifest(REPO, forged.foreign))!;
  await platform.deleteManifest(REPO, forged.foreign);
  await platform.pushManifest(REPO, forged.foreign, again.bytes);
  assert.equal((await platform.referrers(REPO, pub.digest, MediaType.cyclonedxJson)).at(-1)?.digest, forged.foreign);
  await assertShowsGenuine(srv, pub, forged);
  const rest = await fetch(`${srv.url}/verifier/verify/${REPO}:1.0.0`);
  assert.equal(rest.status, 200);
});

test('aibomgen bom show: the verified AIBoM, the others listed as unverified; none verifies → exit 4, nothing forged shown', async () => {
  const { env } = cliHome();
  const r = await aibomgen(['--server', srv.url, 'bom', 'show', `${REPO}:1.0.0`, '--json'], { env });
  assert.equal(r.status, 0, r.stderr);
  const b = json<{
    referrer: string;
    summary: { model: { author: string }; runner: { isolated: boolean }; datasets: { name: string }[] };
    unverifiedAttachments: { digest: string; signerHint: string | null; verified: boolean }[];
  }>(r);
  assert.equal(b.summary.model.author, 'Ada');
  assert.equal(b.summary.runner.isolated, false);
  assert.ok(!b.summary.datasets.some((d) => d.name === 'stolen.csv'));
  assert.equal(b.referrer, pub.attestations.find((a) => a.kind === 'aibom')!.digest);
  assert.deepEqual(
    b.unverifiedAttachments.map((u) => u.digest).sort(),
    [forged.unsigned, forged.foreign, forged.replayed].sort(),
  );
  const text = await aibomgen(['--server', srv.url, 'bom', 'show', `${REPO}:1.0.0`], { env });
  assert.match(text.stdout, /Unverified attachments/);
  assert.match(text.stdout, /\(unverified\)/);
  assert.doesNotMatch(text.stdout, /Mallory|stolen\.csv/);

  // Without the genuine AIBoM, nothing is shown as fact anywhere.
  const platform = srv.services.registry.as(PLATFORM);
  const g = await readGenuine(platform, REPO, pub.digest, pub.attestations);
  await platform.deleteManifest(REPO, g.refs.aibom.digest);
  try {
    const none = await aibomgen(['--server', srv.url, 'bom', 'show', `${REPO}:1.0.0`], { env });
    assert.equal(none.status, 4, none.stdout + none.stderr);
    assert.match(none.stderr, /not signed by/);
    assert.doesNotMatch(none.stdout + none.stderr, /Mallory|stolen\.csv/);
    const raw = await aibomgen(['--server', srv.url, 'bom', 'show', `${REPO}:1.0.0`, '--raw'], { env });
    assert.equal(raw.status, 4);
    assert.equal(raw.stdout, '');
    await srv.services.lineage.idle();
    const v = (await graphql<{ modelVersion: VersionView }>(srv, VERSION_QUERY, { r: `${REPO}:1.0.0` })).modelVersion;
    assert.equal(v.aibom, null);
    assert.equal(v.aibomDocument, null);
    assert.equal(v.verification.verified, false);
    assert.match(v.verification.checks.find((c) => c.name === 'AIBoM present')?.reason ?? '', /3 attached/);
  } finally {
    await platform.pushManifest(REPO, g.refs.aibom.digest, g.refs.aibom.manifest);
  }
});

test('the dashboard shows the verified AIBoM and lists the forged ones as unverified', async () => {
  const CHROMIUM = '/usr/bin/chromium';
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  await srv.services.lineage.idle();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/#/models/${REPO}:1.0.0`);
    await page.locator('.verdict').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('.verdict').innerText(), /Verified/);
    const table = page.getByTestId('unverified-attachments');
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), 3);
    assert.match(await table.innerText(), /\(unverified\)/);
    await page.getByRole('button', { name: 'Show the full AIBoM' }).click();
    await page.locator('.aibom').waitFor({ timeout: 30_000 });
    const all = await page.locator('main').innerText();
    assert.match(all, /Ada/);
    assert.doesNotMatch(all, /Mallory|stolen\.csv/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('for an administrator (auth on), a forged AIBoM pushed with admin rights is listed as unverified too', async () => {
  const s = await startTestServer({ auth: 'on', tokens: 'root:root-token', admins: 'root' });
  try {
    const p = (await publishSample(s, 'shown', '1.0.0')).pub;
    const other = (await publishSample(s, 'other', '1.0.0')).pub;
    platformKeyId = keyHint(readFileSync(join(keysDir(s.dataDir), KEY_FILES.platformPub), 'utf8'));
    const admin = new OciClient(s.url, {
      headers: { authorization: `Basic ${Buffer.from('root:root-token').toString('base64')}` },
    });
    const f = await attachForgeries(s, p, other, admin);
    await assertShowsGenuine(s, p, f, 'root-token');
  } finally {
    await s.close();
    platformKeyId = keyHint(readFileSync(join(keysDir(srv.dataDir), KEY_FILES.platformPub), 'utf8'));
  }
});
