import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { collectEvidence } from '../../server/attest/evidence.ts';
import { KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import { createLink, type Link } from '../../server/attest/link.ts';
import type { JobOutcome } from '../../server/contracts.ts';
import { buildAibom, signAibom } from '../../server/attest/aibom.ts';
import { createHash } from 'node:crypto';

/** A finished job on disk: crafted trainer outputs plus the platform-captured stdout/stderr. */
function craftOutcome(root: string): JobOutcome {
  const inDir = join(root, 'in');
  const out = join(root, 'out');
  mkdirSync(inDir, { recursive: true });
  mkdirSync(join(out, 'model'), { recursive: true });
  writeFileSync(join(inDir, 'data.csv'), 'a,y\n1,0\n2,1\n');
  writeFileSync(join(out, 'model', 'model.json'), '{"modelTopology":{}}');
  writeFileSync(join(out, 'model', 'weights.bin'), Buffer.from([9, 8, 7]));
  writeFileSync(join(out, 'metrics.json'), JSON.stringify({ backend: 'wasm', loss: 0.5 }));
  writeFileSync(join(root, 'stdout.txt'), 'epoch 1/1\n');
  writeFileSync(join(root, 'stderr.txt'), '');
  const now = new Date().toISOString();
  return {
    jobId: 'job-1',
    owner: 'alice',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: { model_name: 'm' },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(inDir, 'data.csv'), digest: '', size: 12 }],
    outputDir: out,
    stdoutPath: join(root, 'stdout.txt'),
    stderrPath: join(root, 'stderr.txt'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: now,
    startedAt: now,
    finishedAt: now,
  };
}

test('server start creates the keys; /verifier/verify_in-toto_link checks a job link; bad input is a 400', async () => {
  const srv = await startTestServer();
  try {
    const k = keysDir(srv.dataDir);
    const outcome = craftOutcome(join(srv.dataDir, 'job'));
    const ev = await collectEvidence(outcome);
    assert.deepEqual(Object.keys(ev.products).sort(), [
      'outputs/metrics.json',
      'outputs/model/model.json',
      'outputs/model/weights.bin',
    ]);
    assert.equal(ev.environment.tfjs_backend, 'wasm');
    assert.equal(ev.environment.isolated, 'false');
    assert.match(ev.environment.disk_total_bytes ?? '', /^[1-9][0-9]*$/);
    assert.ok(ev.environment.gpu, 'gpu recorded (none without nvidia-smi)');
    assert.match(ev.byproductHashes.stdout, /^[0-9a-f]{64}$/);
    const link = createLink({
      key: await loadPrivateKey(k, KEY_FILES.platformKey),
      command: outcome.runner.command,
      ...ev,
    });

    const post = (body: unknown): Promise<Response> =>
      fetch(`${srv.url}/verifier/verify_in-toto_link`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({ link });
    const okBody = (await ok.json()) as { verified: boolean; layout_signature: boolean; threshold: { found: number } };
    assert.equal(ok.status, 200, JSON.stringify(okBody));
    assert.equal(okBody.verified, true);
    assert.equal(okBody.layout_signature, true);
    assert.equal(okBody.threshold.found, 1);

    const tampered: Link = structuredClone(link);
    tampered.signed.products['outputs/model/weights.bin'] = { sha256: 'f'.repeat(64) };
    const bad = await post({ link: tampered });
    const badBody = (await bad.json()) as {
      verified: boolean;
      link_signatures: boolean;
      checks: { name: string; passed: boolean; reason?: string }[];
    };
    assert.equal(bad.status, 422);
    assert.equal(badBody.link_signatures, false);
    assert.match(badBody.checks.find((c) => c.name === 'link signatures')?.reason ?? '', /found 0/);

    // A valid signature over a link that reports a file outside the layout's rules.
    const stray = createLink({
      key: await loadPrivateKey(k, KEY_FILES.platformKey),
      command: [],
      ...ev,
      products: { ...ev.products, 'elsewhere/x': { sha256: 'a'.repeat(64) } },
    });
    const strayBody = (await (await post({ link: stray })).json()) as {
      verified: boolean;
      artifact_rules: { products: string | null };
    };
    assert.equal(strayBody.verified, false);
    assert.match(strayBody.artifact_rules.products ?? '', /DISALLOW \* matched elsewhere\/x/);

    const invalid = await post({ link: { signed: {} } });
    assert.equal(invalid.status, 400);
    assert.match(((await invalid.json()) as { detail: string }).detail, /link\.signatures/);

    // AIBoM + link: signed AIBoM naming this link passes; a changed AIBoM or another link fails.
    const linkSha = createHash('sha256').update(JSON.stringify(link)).digest('hex');
    const bom = signAibom(
      buildAibom({
        outcome,
        evidence: ev,
        repository: 'models/m',
        manifestDigest: `sha256:${'a'.repeat(64)}`,
        linkSha256: linkSha,
      }),
      await loadPrivateKey(k, KEY_FILES.platformKey),
    );
    const bl = (b: unknown): Promise<Response> =>
      fetch(`${srv.url}/verifier/verify_bom_and_link`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(b),
      });
    const blOk = await bl({ bom, link });
    const blOkBody = (await blOk.json()) as { verified: boolean; bom_signature: boolean; bom_references_link: boolean };
    assert.equal(blOk.status, 200, JSON.stringify(blOkBody));
    assert.equal(blOkBody.bom_signature, true);
    const changedBom = { ...bom, version: 2 };
    const blBad = (await (await bl({ bom: changedBom, link })).json()) as { verified: boolean; bom_signature: boolean };
    assert.equal(blBad.verified, false);
    assert.equal(blBad.bom_signature, false);
    const blOther = (await (await bl({ bom, link: stray })).json()) as {
      verified: boolean;
      bom_references_link: boolean;
    };
    assert.equal(blOther.bom_references_link, false);
    assert.equal((await bl({ bom })).status, 400);
    const ra = await fetch(`${srv.url}/verifier/verify_registry_artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(ra.status, 400);

    const fd = new FormData();
    fd.set('file', new Blob([readFileSync(join(outcome.outputDir, 'model', 'weights.bin'))]), 'weights.bin');
    fd.set('expected_hash', ev.products['outputs/model/weights.bin']!.sha256);
    const fh = await fetch(`${srv.url}/verifier/verify_file_hash`, { method: 'POST', body: fd });
    assert.equal(fh.status, 200);
    fd.set('expected_hash', '0'.repeat(64));
    assert.equal((await fetch(`${srv.url}/verifier/verify_file_hash`, { method: 'POST', body: fd })).status, 422);
    fd.set('expected_hash', 'nothex');
    assert.equal((await fetch(`${srv.url}/verifier/verify_file_hash`, { method: 'POST', body: fd })).status, 400);
  } finally {
    await srv.close();
  }
});
