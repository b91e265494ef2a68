/**
 * The OpenSSF model signature as a peer checks it: publish to a real distribution registry, `oras pull` the model
 * and its `model.sig` referrer, then PyPI model-signing 1.1.1's own CLI (`model_signing verify key`) must pass,
 * and fail after a one-byte change to any file and after a file is renamed. Our verifier counts it too.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aibomModelSignatureRoot,
  type BomJson,
  MODEL_SIGNATURE_ROOT_PROPERTY,
  signAibom,
} from '../../server/attest/aibom.ts';
import { PREDICATE_CYCLONEDX, signStatement, statement } from '../../server/attest/dsse.ts';
import { sigstoreAnnotations } from '../../server/attest/evidence-docs.ts';
import { MediaType } from '../../schema/media-types.ts';
import { attach } from './verify-helpers.ts';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey, readPublicPem } from '../../server/attest/keys.ts';
import { MODEL_SIG_FILE, PREDICATE_MODEL_SIGNING, rootDigest } from '../../server/attest/model-signature.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import { verifyModel } from '../../server/attest/verify-chain.ts';
import type { JobOutcome } from '../../server/contracts.ts';
import { OciClient } from '../../server/oci/client.ts';
import { startDistribution } from '../helpers/distribution.ts';

const ORAS = join(process.cwd(), '.tools/bin/oras');
const MODEL_SIGNING = join(process.cwd(), '.tools/venv-attest/bin/model_signing');

/** A finished job with nested files (model/…) and names whose string and path orders differ (a-b vs a/…). */
function outcome(root: string): JobOutcome {
  const out = join(root, 'out');
  for (const d of ['model', 'a', 'a-b']) mkdirSync(join(out, d), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), 'x,y\n1,0\n2,1\n');
  writeFileSync(join(out, 'model', 'model.json'), JSON.stringify({ modelTopology: { n: 1 } }));
  writeFileSync(join(out, 'model', 'weights.bin'), Buffer.from([0, 1, 2, 3, 4, 5]));
  writeFileSync(join(out, 'a', 'b.txt'), 'a/b');
  writeFileSync(join(out, 'a-b', 'c.txt'), 'a-b/c');
  writeFileSync(join(out, 'metrics.json'), JSON.stringify({ loss: 0.5 }));
  writeFileSync(join(root, 'stdout'), 'done\n');
  writeFileSync(join(root, 'stderr'), '');
  return {
    jobId: 'job-ms',
    owner: 'alice',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: { model_name: 'signed', model_version: '1.0.0', author: 'alice', license_name: 'MIT' },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 1 }],
    outputDir: out,
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-11-24T05:00:00.000Z',
    startedAt: '2026-11-24T05:00:01.000Z',
    finishedAt: '2026-11-24T05:00:31.000Z',
  };
}

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

test('model.sig: model_signing verify key passes on the oras-pulled model, fails on a changed byte or a renamed file', async (t) => {
  if (!existsSync(MODEL_SIGNING)) return t.skip('model-signing is not installed (scripts/setup.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'attest-model-signing-'));
  const reg = await startDistribution();
  try {
    await initKeys(keysDir(dir));
    const pubKey = join(keysDir(dir), KEY_FILES.platformPub);
    const publisher = createPublisher({
      target: new OciClient(reg.url),
      registryHost: reg.hostPort,
      loadKey: () => loadPrivateKey(keysDir(dir), KEY_FILES.platformKey),
    });
    const o = outcome(join(dir, 'job'));
    const pub = await publisher.publish(o);
    const sigRef = pub.attestations.find((a) => a.kind === 'model-signature');
    assert.ok(sigRef, 'the publication lists a model-signature referrer');

    // The model, then its model.sig referrer, pulled into the same directory (the CLI skips its --signature file).
    const pulled = join(dir, 'pulled');
    let r = run(ORAS, ['pull', '--plain-http', '-o', pulled, pub.ref]);
    assert.equal(r.status, 0, r.stderr);
    r = run(ORAS, ['pull', '--plain-http', '-o', pulled, `${reg.hostPort}/${pub.repository}@${sigRef.digest}`]);
    assert.equal(r.status, 0, r.stderr);
    const sig = join(pulled, MODEL_SIG_FILE);
    const bundle = JSON.parse(readFileSync(sig, 'utf8')) as { dsseEnvelope: { payload: string } };
    const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as {
      subject: { name: string; digest: { sha256: string } }[];
      predicateType: string;
      predicate: { resources: { name: string; digest: string }[] };
    };
    assert.equal(st.predicateType, PREDICATE_MODEL_SIGNING);
    // Python's PurePosixPath order: `a/b.txt` before `a-b/c.txt` (a plain string sort puts them the other way).
    assert.deepEqual(
      st.predicate.resources.map((x) => x.name),
      ['a/b.txt', 'a-b/c.txt', 'metrics.json', 'model/model.json', 'model/weights.bin'],
    );
    assert.equal(st.subject[0]!.digest.sha256, rootDigest(st.predicate.resources));

    const verify = (modelDir: string, sigPath = sig) =>
      run(MODEL_SIGNING, ['verify', 'key', '--signature', sigPath, '--public_key', pubKey, modelDir]);
    r = verify(pulled);
    assert.equal(r.status, 0, `model_signing verify key: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Verification succeeded/);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /older verification material/, 'the key hint is model-signing’s own');

    // One byte changed in each file, in turn: model-signing refuses every one.
    for (const f of st.predicate.resources.map((x) => x.name)) {
      const copy = join(dir, `tamper-${f.replace(/\//g, '_')}`);
      cpSync(pulled, copy, { recursive: true });
      const b = readFileSync(join(copy, f));
      b[0] = b[0]! ^ 1;
      writeFileSync(join(copy, f), b);
      const bad = verify(copy, join(copy, MODEL_SIG_FILE));
      assert.notEqual(bad.status, 0, `a changed byte in ${f} must fail`);
      assert.match(`${bad.stdout}${bad.stderr}`, /Signature mismatch|mismatch/i);
    }
    // A renamed file (same bytes, another name) fails too.
    const renamed = join(dir, 'renamed');
    cpSync(pulled, renamed, { recursive: true });
    renameSync(join(renamed, 'model', 'weights.bin'), join(renamed, 'model', 'weights2.bin'));
    const bad = verify(renamed, join(renamed, MODEL_SIG_FILE));
    assert.notEqual(bad.status, 0, 'a renamed file must fail');

    // Our own verifier: the signature counts and the AIBoM names its root digest.
    const report = await verifyModel(new OciClient(reg.url), pub.ref.replace(`${reg.hostPort}/`, ''), {
      signers: [await readPublicPem(keysDir(dir), KEY_FILES.platformPub)],
    });
    const c = (n: string) => report.checks.find((x) => x.name === n);
    assert.equal(c('model signature present')?.passed, true, JSON.stringify(report.checks));
    assert.equal(
      c('AIBoM names the model signature')?.passed,
      true,
      JSON.stringify(c('AIBoM names the model signature')),
    );
    assert.equal(report.verified, true, JSON.stringify(report.checks.filter((x) => !x.passed)));
    const bomRef = pub.attestations.find((a) => a.kind === 'aibom')!;
    const t2 = new OciClient(reg.url);
    const bm = JSON.parse(Buffer.from((await t2.getManifest(pub.repository, bomRef.digest))!.bytes).toString()) as {
      layers: { digest: string }[];
    };
    const bom = JSON.parse(Buffer.from(await t2.fetchBlob(pub.repository, bm.layers[0]!.digest)).toString()) as unknown;
    assert.equal(aibomModelSignatureRoot(bom), `sha256:${st.subject[0]!.digest.sha256}`);
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the model signature and the SPDX export cannot be stripped: the signed AIBoM names the signature, so verify fails without either', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-ms-strip-'));
  const reg = await startDistribution();
  try {
    await initKeys(keysDir(dir));
    const target = new OciClient(reg.url);
    const publisher = createPublisher({
      target,
      registryHost: reg.hostPort,
      loadKey: () => loadPrivateKey(keysDir(dir), KEY_FILES.platformKey),
    });
    const pub = await publisher.publish(outcome(join(dir, 'job')));
    const keys = { signers: [await readPublicPem(keysDir(dir), KEY_FILES.platformPub)] };
    const ref = pub.ref.replace(`${reg.hostPort}/`, '');
    assert.equal((await verifyModel(target, ref, keys)).verified, true);
    for (const kind of ['model-signature', 'spdx'] as const) {
      const d = pub.attestations.find((a) => a.kind === kind)!.digest;
      const m = (await target.getManifest(pub.repository, d))!;
      await target.deleteManifest(pub.repository, d);
      const report = await verifyModel(target, ref, keys);
      const name = kind === 'spdx' ? 'SPDX 3.0.1 export present' : 'model signature present';
      const c = report.checks.find((x) => x.name === name);
      assert.equal(report.verified, false, `${kind} stripped: ${JSON.stringify(c)}`);
      assert.equal(c?.passed, false, JSON.stringify(report.checks));
      await target.pushManifest(pub.repository, d, m.bytes); // put it back: one missing piece at a time
      assert.equal((await verifyModel(target, ref, keys)).verified, true, `${kind} restored`);
    }
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model published before model signatures and SPDX exports (its signed AIBoM names no root) still verifies, told why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-ms-older-'));
  const reg = await startDistribution();
  try {
    await initKeys(keysDir(dir));
    const key = await loadPrivateKey(keysDir(dir), KEY_FILES.platformKey);
    const target = new OciClient(reg.url);
    const publisher = createPublisher({ target, registryHost: reg.hostPort, loadKey: async () => key });
    const pub = await publisher.publish(outcome(join(dir, 'job')));
    const repo = pub.repository;
    const model = (await target.getManifest(repo, pub.digest))!;
    const subject = { digest: pub.digest, size: model.bytes.byteLength };
    // What the previous release published: the same AIBoM without the root-digest property, signed, with its
    // CycloneDX statement, and no model signature or SPDX export.
    const ref = (k: string) => pub.attestations.find((a) => a.kind === k)!.digest;
    const bm = JSON.parse(Buffer.from((await target.getManifest(repo, ref('aibom')))!.bytes).toString()) as {
      layers: { digest: string }[];
    };
    const doc = JSON.parse(Buffer.from(await target.fetchBlob(repo, bm.layers[0]!.digest)).toString()) as BomJson & {
      metadata: { component: { properties: { name: string }[] } };
    };
    delete doc.signature;
    doc.metadata.component.properties = doc.metadata.component.properties.filter(
      (p) => p.name !== MODEL_SIGNATURE_ROOT_PROPERTY,
    );
    const older = signAibom(doc, key);
    for (const k of ['aibom', 'aibom-signature', 'model-signature', 'spdx']) await target.deleteManifest(repo, ref(k));
    const bundle = await signStatement(statement('signed', pub.digest, PREDICATE_CYCLONEDX, older), key);
    const attached = [
      await attach(target, repo, subject, MediaType.cyclonedxJson, Buffer.from(JSON.stringify(older))),
      await attach(
        target,
        repo,
        subject,
        MediaType.sigstoreBundle,
        Buffer.from(JSON.stringify(bundle)),
        sigstoreAnnotations(PREDICATE_CYCLONEDX),
      ),
    ];
    // distribution 2.8 has no referrers API: clients keep the `sha256-<hex>` fallback index (as the publisher does),
    // here rewritten without the deleted referrers (2.8 refuses an index naming unknown manifests).
    const gone = new Set(['aibom', 'aibom-signature', 'model-signature', 'spdx'].map(ref));
    const fallback = `sha256-${pub.digest.slice(7)}`;
    const index = JSON.parse(Buffer.from((await target.getManifest(repo, fallback))!.bytes).toString()) as {
      manifests: { digest: string }[];
    };
    const descs = await Promise.all(
      attached.map(async (d) => {
        const m = (await target.getManifest(repo, d))!;
        const at = (JSON.parse(Buffer.from(m.bytes).toString()) as { artifactType: string }).artifactType;
        return { mediaType: MediaType.ociManifest, digest: d, size: m.bytes.byteLength, artifactType: at };
      }),
    );
    index.manifests = [...index.manifests.filter((m) => !gone.has(m.digest)), ...descs];
    await target.pushManifest(repo, fallback, Buffer.from(JSON.stringify(index)), MediaType.ociIndex);

    const report = await verifyModel(target, pub.ref.replace(`${reg.hostPort}/`, ''), {
      signers: [await readPublicPem(keysDir(dir), KEY_FILES.platformPub)],
    });
    assert.equal(report.verified, true, JSON.stringify(report.checks.filter((c) => !c.passed)));
    for (const name of ['model signature present', 'SPDX 3.0.1 export present']) {
      const c = report.checks.find((x) => x.name === name);
      assert.match(c?.reason ?? '', /published before/, JSON.stringify(c));
    }
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
