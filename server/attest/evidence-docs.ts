/**
 * The evidence documents the publisher attaches to a model, each as one referrer with one layer. Built and signed
 * in the `attesting` phase from the job's files alone, once the model manifest's digest (every document's subject)
 * is known. A new kind of evidence plugs in here: one more entry in the list `buildEvidenceDocs` returns.
 */
import type { KeyObject } from 'node:crypto';
import { MediaType } from '../../schema/media-types.ts';
import type { AttestationRef, JobOutcome } from '../contracts.ts';
import { digestOf } from '../oci/digest.ts';
import { buildAibom, signAibom, validateAibom } from './aibom.ts';
import { PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1, signStatement, statement } from './dsse.ts';
import type { JobEvidence } from './evidence.ts';
import { evaluationDocs } from './evaluation.ts';
import { createJobLink } from './job-link.ts';
import { linkFileName } from './link.ts';
import { MODEL_SIG_FILE, PREDICATE_MODEL_SIGNING, signModel } from './model-signature.ts';
import { slsaProvenance } from './provenance.ts';
import { missingLine, scoreAibom, withScore } from './score.ts';
import { buildSpdx, PREDICATE_SPDX_3, SPDX_FILE } from './spdx.ts';

/** One referrer's content: its kind, media type (artifact type = layer type), bytes and file name. */
export interface EvidenceDoc {
  kind: AttestationRef['kind'];
  type: string;
  bytes: Buffer;
  /** The layer's `org.opencontainers.image.title`: the file name `oras pull` writes. */
  title: string;
  /** Annotations on the referrer manifest and its descriptor (what cosign looks for on bundles). */
  annotations: Record<string, string>;
}

/** What the documents are built from: the job, its measured evidence and the model manifest they are about. */
export interface EvidenceInput {
  outcome: JobOutcome;
  evidence: JobEvidence;
  key: KeyObject;
  /** e.g. models/mnist */
  repository: string;
  /** e.g. 127.0.0.1:8080/models/mnist: the statements' subject name. */
  subjectName: string;
  registryHost: string;
  modelDigest: string;
  /** Input repositories by input file name, with their manifest digests. */
  inputRefs: Record<string, { repository: string; digest: string }>;
  /** The publication gate: an AIBoM scoring below this (score.ts) is refused, nothing is published. */
  minScore?: number;
}

/** The AIBoM's completeness is below the configured minimum: the job fails with this message. */
export class ScoreGateError extends Error {}

/** Annotations cosign reads to find a DSSE bundle of a predicate type among the referrers. */
export function sigstoreAnnotations(predicateType: string): Record<string, string> {
  return {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicateType,
  };
}

/** Builds and signs every evidence document about the model manifest `i.modelDigest`. */
export async function buildEvidenceDocs(i: EvidenceInput): Promise<EvidenceDoc[]> {
  const { outcome, key, modelDigest, subjectName, registryHost, inputRefs } = i;
  // The OpenSSF model signature covers the files as pulled (paths relative to the model, without `outputs/`).
  const files = Object.fromEntries(
    Object.entries(i.evidence.products)
      .filter(([k]) => k.startsWith('outputs/'))
      .map(([k, v]) => [k.slice('outputs/'.length), v.sha256]),
  );
  const modelSig = await signModel(outcome.metadata.model_name ?? outcome.jobId, files, key);
  const link = createJobLink(key, outcome, i.evidence);
  const linkBytes = Buffer.from(JSON.stringify(link));
  const facts = {
    outcome,
    evidence: i.evidence,
    repository: i.repository,
    manifestDigest: modelDigest,
    linkSha256: digestOf(linkBytes).slice('sha256:'.length),
    inputRefs,
    modelSignatureRoot: modelSig.statement.subject[0]!.digest.sha256,
  };
  const built = buildAibom(facts);
  // Scored before it is signed: the score is stored in the document, and the gate refuses before anything is pushed.
  const score = scoreAibom(built);
  if (i.minScore !== undefined && score.score < i.minScore)
    throw new ScoreGateError(
      `the AIBoM's completeness score ${score.score} is below the minimum ${i.minScore} for publication; missing: ${missingLine(score)}`,
    );
  const aibom = signAibom(withScore(built, score), key);
  await validateAibom(aibom);
  const provenanceInputs = Object.fromEntries(
    Object.entries(inputRefs).map(([k, v]) => [
      k,
      { uri: `oci://${registryHost}/${v.repository}@${v.digest}`, sha256: v.digest.slice(7) },
    ]),
  );
  const [bomBundle, spdxBundle, slsaBundle] = await Promise.all([
    signStatement(statement(subjectName, modelDigest, PREDICATE_CYCLONEDX, aibom), key),
    signStatement(statement(subjectName, modelDigest, PREDICATE_SPDX_3, buildSpdx(facts, aibom)), key),
    signStatement(
      statement(subjectName, modelDigest, PREDICATE_SLSA_V1, slsaProvenance(outcome, provenanceInputs, i.evidence)),
      key,
    ),
  ]);
  // The signed held-out evaluation (evaluation.ts): platform-trainer jobs with held-out metrics only.
  const evaluation = await evaluationDocs({ outcome, evidence: i.evidence, key, subjectName, modelDigest });
  return [
    ...evaluation,
    { kind: 'in-toto-link', type: MediaType.inTotoLink, bytes: linkBytes, title: linkFileName(link), annotations: {} },
    {
      kind: 'aibom',
      type: MediaType.cyclonedxJson,
      bytes: Buffer.from(JSON.stringify(aibom)),
      title: 'aibom.cdx.json',
      annotations: {},
    },
    {
      kind: 'aibom-signature',
      type: MediaType.sigstoreBundle,
      bytes: Buffer.from(JSON.stringify(bomBundle)),
      title: 'aibom.sigstore.json',
      annotations: sigstoreAnnotations(PREDICATE_CYCLONEDX),
    },
    {
      kind: 'slsa-provenance',
      type: MediaType.sigstoreBundle,
      bytes: Buffer.from(JSON.stringify(slsaBundle)),
      title: 'provenance.sigstore.json',
      annotations: sigstoreAnnotations(PREDICATE_SLSA_V1),
    },
    {
      kind: 'spdx',
      type: MediaType.sigstoreBundle,
      bytes: Buffer.from(JSON.stringify(spdxBundle)),
      title: `${SPDX_FILE.replace(/\.json$/, '')}.sigstore.json`,
      annotations: sigstoreAnnotations(PREDICATE_SPDX_3),
    },
    {
      kind: 'model-signature',
      type: MediaType.sigstoreBundle,
      bytes: Buffer.from(JSON.stringify(modelSig.bundle)),
      title: MODEL_SIG_FILE,
      annotations: sigstoreAnnotations(PREDICATE_MODEL_SIGNING),
    },
  ];
}
