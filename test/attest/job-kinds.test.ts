import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyLayoutAndLink } from '../../server/attest/intoto-verify.ts';
import { KEY_FILES, loadPrivateKey, stepLayoutFile } from '../../server/attest/keys.ts';
import { JOB_STEPS, LEGACY_STEP, type Layout } from '../../server/attest/layout.ts';
import { createLink, jobKindOf, linkFileName, type Link } from '../../server/attest/link.ts';
import { policyChecks } from '../../server/attest/eval-policy.ts';
import type { Publication } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { aibomgen, cliHome } from '../cli/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { IMAGE_ID, publishKind, referrerBlob } from './job-kind-sample.ts';

// Job kinds in the layout: step train-platform (the platform's trainer) and train-image (a user's image), checked
// by in-toto-verify (Debian 1.3.1 and PyPI), by our own verifier, and by `aibomgen verify --platform-trainer-only`.
const DEBIAN = '/usr/bin/in-toto-verify';
const PYPI = join(process.cwd(), '.tools/venv/bin/in-toto-verify');
let srv: TestServer;
let keys: string;
const pubs = {} as Record<'platform' | 'image', Publication>;
const links = {} as Record<'platform' | 'image', Link>;
const tmp = mkdtempSync(join(tmpdir(), 'job-kinds-'));

before(async () => {
  srv = await startTestServer();
  keys = srv.services.config.keysDir;
  const final = { loss: 0.3, acc: 0.9, val_loss: 0.35, val_acc: 0.875 };
  for (const kind of ['platform', 'image'] as const) {
    pubs[kind] = (await publishKind(srv, `kind-${kind}`, kind, { final, seed: 7 })).pub;
    const d = pubs[kind].attestations.find((a) => a.kind === 'in-toto-link')!.digest;
    links[kind] = JSON.parse(
      (await referrerBlob(new OciClient(srv.url), pubs[kind].repository, d)).toString('utf8'),
    ) as Link;
  }
});
after(async () => {
  await srv.close();
  rmSync(tmp, { recursive: true, force: true });
});

function inTotoVerify(bin: string, layoutFile: string, link: Link, fileName = linkFileName(link)) {
  const dir = mkdtempSync(join(tmp, 'links-'));
  writeFileSync(join(dir, fileName), JSON.stringify(link));
  const args =
    bin === DEBIAN
      ? ['--layout-keys', join(keys, KEY_FILES.rootInToto), '--key-types', 'ecdsa']
      : ['--verification-keys', join(keys, KEY_FILES.rootPub)];
  const r = spawnSync(bin, ['--layout', join(keys, layoutFile), ...args, '--link-dir', dir], {
    encoding: 'utf8',
    cwd: dir,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('each job kind has its own signed step; the image link names the image digest as a material', () => {
  assert.equal(links.platform.signed.name, JOB_STEPS.platform);
  assert.equal(links.image.signed.name, JOB_STEPS.image);
  assert.deepEqual(links.image.signed.materials['trainer-image'], { sha256: IMAGE_ID });
  assert.equal(links.platform.signed.materials['trainer-image'], undefined, 'the process runner ran no image');
  const root = JSON.parse(readFileSync(join(keys, KEY_FILES.layout), 'utf8')) as Layout;
  assert.deepEqual(
    root.signed.steps.map((s) => s.name),
    [JOB_STEPS.platform, JOB_STEPS.image, LEGACY_STEP],
  );
  assert.match(root.signed.readme, /train-image: a trainer image a user supplied/);
  const rootPem = readFileSync(join(keys, KEY_FILES.rootPub), 'utf8');
  for (const kind of ['platform', 'image'] as const) {
    const v = verifyLayoutAndLink({ layout: root, rootPem, link: links[kind] });
    assert.ok(v.verified, JSON.stringify(v.checks));
  }
  // A link renamed into the other step: its signature covers the name, so no functionary signed it.
  const renamed: Link = structuredClone(links.image);
  renamed.signed.name = JOB_STEPS.platform;
  const v = verifyLayoutAndLink({ layout: root, rootPem, link: renamed });
  assert.equal(v.link_signatures, false);
  assert.ok(!v.verified);
});

test('a link from before the job kinds (step train) still verifies, but states no kind: the policy refuses it', async () => {
  const root = JSON.parse(readFileSync(join(keys, KEY_FILES.layout), 'utf8')) as Layout;
  const old = createLink({
    key: await loadPrivateKey(keys, KEY_FILES.platformKey),
    name: LEGACY_STEP,
    command: [],
    materials: { 'inputs/data.csv': { sha256: '1'.repeat(64) } },
    products: { 'outputs/model/model.json': { sha256: '2'.repeat(64) } },
    byproducts: { 'return-value': 0, stdout: '', stderr: '' },
    environment: {},
  });
  const v = verifyLayoutAndLink({
    layout: root,
    rootPem: readFileSync(join(keys, KEY_FILES.rootPub), 'utf8'),
    link: old,
  });
  assert.ok(v.verified, JSON.stringify(v.checks));
  assert.equal(jobKindOf(old), undefined);
  const [policy] = policyChecks({ ref: 'x', verified: true, checks: [], facts: {} }, { platformTrainerOnly: true });
  assert.equal(policy?.passed, false);
  assert.match(policy?.reason ?? '', /no verified in-toto link states the job kind/);
});

for (const [label, bin] of [
  ['Debian in-toto 1.3.1', DEBIAN],
  ['PyPI in-toto', PYPI],
] as const) {
  test(`${label}: in-toto-verify passes both job kinds with their step's layout, refuses the other`, {
    skip: !existsSync(bin) && `${bin} missing`,
  }, async () => {
    for (const kind of ['platform', 'image'] as const) {
      const ok = inTotoVerify(bin, stepLayoutFile(kind), links[kind]);
      assert.equal(ok.status, 0, `${kind}: ${ok.out}`);
      const other = kind === 'platform' ? 'image' : 'platform';
      const wrong = inTotoVerify(bin, stepLayoutFile(other), links[kind]);
      assert.notEqual(wrong.status, 0, `${kind} link under the ${other} layout must fail`);
    }
    // The image link renamed (and filed) as the platform trainer's: the signature breaks.
    const renamed: Link = structuredClone(links.image);
    renamed.signed.name = JOB_STEPS.platform;
    const r = inTotoVerify(bin, stepLayoutFile('platform'), renamed, linkFileName(renamed));
    assert.notEqual(r.status, 0, 'a renamed link must fail');
    assert.match(r.out, /signature|Signature|Threshold/);
    // A train-image link without the image material, correctly signed: the step's REQUIRE rule refuses it.
    const { 'trainer-image': _, ...materials } = links.image.signed.materials;
    const bare = createLink({
      key: await loadPrivateKey(keys, KEY_FILES.platformKey),
      name: JOB_STEPS.image,
      command: [],
      materials,
      products: links.image.signed.products,
      byproducts: links.image.signed.byproducts,
      environment: {},
    });
    const req = inTotoVerify(bin, stepLayoutFile('image'), bare);
    assert.notEqual(req.status, 0, 'an image link without its image must fail');
    assert.match(req.out, /REQUIRE|Rule/i);
  });
}

test('aibomgen verify --platform-trainer-only: passes a platform-trainer model, refuses a trainer-image model', async () => {
  const { env } = cliHome();
  const run = (...args: string[]) => aibomgen(['--server', srv.url, ...args], { env });
  const local = ['--key', join(keys, KEY_FILES.platformPub)];
  const withLayout = [
    ...local,
    '--layout',
    join(keys, KEY_FILES.layout),
    '--layout-key',
    join(keys, KEY_FILES.rootPub),
  ];
  for (const extra of [[], local, withLayout]) {
    const p = await run('verify', `${srv.hostPort}/models/kind-platform:1.0.0`, '--platform-trainer-only', ...extra);
    assert.equal(p.status, 0, `${extra.join(' ')}: ${p.stdout}${p.stderr}`);
    assert.match(p.stdout, /ok {3}policy: trained by the platform trainer/);
    const plain = await run('verify', `${srv.hostPort}/models/kind-image:1.0.0`, ...extra);
    assert.equal(plain.status, 0, `without the flag an image model verifies: ${plain.stdout}${plain.stderr}`);
    const i = await run('verify', `${srv.hostPort}/models/kind-image:1.0.0`, '--platform-trainer-only', ...extra);
    assert.equal(i.status, 4, `${extra.join(' ')}: ${i.stdout}${i.stderr}`);
    assert.match(i.stdout, /FAIL policy: trained by the platform trainer — trained by a user-supplied trainer image/);
  }
  const j = await run('verify', 'models/kind-image:1.0.0', '--json');
  assert.equal((JSON.parse(j.stdout) as { facts: { job_kind: string } }).facts.job_kind, 'image');
});

test('a keys directory with a layout from before the job kinds gets the new layouts, same keys', async () => {
  const { initKeys } = await import('../../server/attest/keys.ts');
  const dir = join(tmp, 'old-keys');
  await initKeys(dir);
  const pub = readFileSync(join(dir, KEY_FILES.platformPub), 'utf8');
  const old = JSON.parse(readFileSync(join(dir, KEY_FILES.layout), 'utf8')) as Layout;
  old.signed.steps = old.signed.steps.map((s) => ({ ...s, name: 'train' })).slice(0, 1);
  writeFileSync(join(dir, KEY_FILES.layout), JSON.stringify(old));
  const created = await initKeys(dir);
  assert.deepEqual(created.sort(), [KEY_FILES.layout, 'train-image.layout', 'train-platform.layout']);
  assert.equal(readFileSync(join(dir, KEY_FILES.platformPub), 'utf8'), pub);
  assert.deepEqual(await initKeys(dir), []);
});
