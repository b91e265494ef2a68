import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PREDICATE_CYCLONEDX,
  PREDICATE_SLSA_V1,
  signStatement,
  statement,
  verifyStatementBundle,
} from '../../server/attest/dsse.ts';
import { initKeys, KEY_FILES, keysDir, loadPrivateKey } from '../../server/attest/keys.ts';
import { slsaProvenance } from '../../server/attest/provenance.ts';

test('DSSE statements in sigstore v0.3 bundles: verify offline with the platform key only; tampering and other keys fail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attest-dsse-'));
  const other = mkdtempSync(join(tmpdir(), 'attest-dsse-other-'));
  try {
    await initKeys(keysDir(dir));
    await initKeys(keysDir(other));
    const key = await loadPrivateKey(keysDir(dir), KEY_FILES.platformKey);
    const pub = readFileSync(join(keysDir(dir), KEY_FILES.platformPub), 'utf8');
    const digest = `sha256:${'d'.repeat(64)}`;
    const bom = await signStatement(
      statement('models/iris', digest, PREDICATE_CYCLONEDX, { bomFormat: 'CycloneDX', specVersion: '1.6' }),
      key,
    );
    assert.equal(bom.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const st = verifyStatementBundle(bom, pub);
    assert.equal(st.subject[0]?.digest.sha256, 'd'.repeat(64));
    assert.equal(st.predicateType, PREDICATE_CYCLONEDX);

    const prov = slsaProvenance(
      {
        jobId: 'j',
        owner: 'o',
        framework: 'tfjs',
        params: { epochs: 2 },
        metadata: {},
        outputDir: '/x',
        stdoutPath: '',
        stderrPath: '',
        exitCode: 0,
        inputs: [{ role: 'dataset', name: 'd.csv', path: '/d.csv', digest: `sha256:${'e'.repeat(64)}`, size: 1 }],
        runner: { kind: 'process', isolated: false, command: [] },
        queuedAt: '',
        startedAt: '',
        finishedAt: '',
      },
      {},
    );
    const slsa = verifyStatementBundle(
      await signStatement(statement('models/iris', digest, PREDICATE_SLSA_V1, prov), key),
      pub,
    );
    assert.deepEqual(
      (slsa.predicate as { buildDefinition: { externalParameters: { params: unknown } } }).buildDefinition
        .externalParameters.params,
      { epochs: 2 },
    );

    // One byte of the payload changed: signature verification fails.
    const tampered = structuredClone(bom) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(tampered.dsseEnvelope.payload, 'base64');
    payload.writeUInt8(payload.readUInt8(payload.length - 3) ^ 1, payload.length - 3);
    tampered.dsseEnvelope.payload = payload.toString('base64');
    assert.throws(() => verifyStatementBundle(tampered, pub), /signature/i);
    // With a Rekor URL configured the bundle needs a tlog entry: an unreachable Rekor makes signing fail, not skip.
    await assert.rejects(
      signStatement(statement('models/iris', digest, PREDICATE_CYCLONEDX, {}), key, 'http://127.0.0.1:9'),
    );
    // Another platform's key does not verify it.
    assert.throws(
      () => verifyStatementBundle(bom, readFileSync(join(keysDir(other), KEY_FILES.platformPub), 'utf8')),
      /signature/i,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});
