/**
 * The signed evaluation: an in-toto `test-result` attestation (v0.1) about the model manifest, made by the
 * platform after the job, from the held-out metrics the platform's own trainer wrote (trainer/main.ts:
 * metrics.json `final.val_*`, measured on the validation tail it split off after one seeded shuffle).
 *
 * What it asserts: the platform's trainer — code the platform ships — reported these metrics for this model,
 * on the held-out part of the datasets named (by the SHA-256 the platform measured), with this seed and split.
 * What it cannot assert: the platform does not re-run the evaluation itself (the key never enters a container,
 * and the model is not run outside one), so it signs what its trainer measured; a user-supplied trainer image
 * reports whatever it likes, so such jobs get no evaluation attestation at all. No separate evaluation dataset
 * is supported yet: the held-out split only.
 */
import type { KeyObject } from 'node:crypto';
import type { JobOutcome, VerificationCheck } from '../contracts.ts';
import { signStatement, statement, type Statement } from './dsse.ts';
import type { EvidenceVerdict } from './evidence-check.ts';
import type { JobEvidence } from './evidence.ts';
import { jobKind } from './job-link.ts';

export const PREDICATE_TEST_RESULT = 'https://in-toto.io/attestation/test-result/v0.1';
export const EVALUATION_FILE = 'evaluation.sigstore.json';

/** The test-result predicate plus the evaluation's own fields (consumers ignore fields they do not know). */
export interface EvaluationPredicate {
  result: 'PASSED' | 'WARNED' | 'FAILED';
  /** The evaluation data: each input the split was taken from, by the digest the platform measured. */
  configuration: { name: string; digest: { sha256: string }; annotations?: Record<string, string> }[];
  passedTests: string[];
  warnedTests: string[];
  failedTests: string[];
  /** Held-out metrics by name (`val_` dropped: accuracy, loss, ...). */
  metrics: Record<string, number>;
  seed?: number;
  split: { kind: 'held-out'; validation_split?: number; samples?: number };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** `final.val_*` of the trainer's metrics.json, prefix dropped; `acc` also as `accuracy`. Empty: none held out. */
export function heldOutMetrics(metrics: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(metrics.final)))
    if (k.startsWith('val_') && typeof v === 'number') out[k.slice(4)] = v;
  if (out.acc !== undefined && out.accuracy === undefined) out.accuracy = out.acc;
  return out;
}

/** The predicate for a platform-trainer job with held-out metrics; undefined otherwise (nothing is attached). */
export function evaluationPredicate(outcome: JobOutcome, ev: JobEvidence): EvaluationPredicate | undefined {
  if (jobKind(outcome) !== 'platform') return undefined;
  const metrics = heldOutMetrics(ev.metrics);
  const names = Object.keys(metrics).sort();
  if (!names.length) return undefined;
  const finite = names.filter((n) => Number.isFinite(metrics[n]));
  const data = outcome.inputs.filter((f) => f.role === 'dataset' || f.role === 'dataset_definition');
  const ds = obj(ev.metrics.dataset);
  const params = obj(ev.metrics.params);
  const seed = num(ev.metrics.seed);
  const validationSplit = num(params.validation_split);
  const samples = num(ds.validation_samples);
  return {
    // Non-finite metrics (a diverged run) fail; there is no threshold here: policies belong to the verifier.
    result: finite.length === names.length ? 'PASSED' : 'FAILED',
    configuration: data.flatMap((f) => {
      const sha = ev.materials[`inputs/${f.name}`]?.sha256;
      return sha ? [{ name: `inputs/${f.name}`, digest: { sha256: sha }, annotations: { role: f.role } }] : [];
    }),
    passedTests: finite.map((n) => `held-out ${n}`),
    warnedTests: [],
    failedTests: names.filter((n) => !finite.includes(n)).map((n) => `held-out ${n}`),
    // JSON has no NaN/Infinity: non-finite metrics are listed as failed tests only.
    metrics: Object.fromEntries(finite.map((n) => [n, metrics[n]!])),
    ...(seed !== undefined ? { seed } : {}),
    split: {
      kind: 'held-out',
      ...(validationSplit !== undefined ? { validation_split: validationSplit } : {}),
      ...(samples !== undefined ? { samples } : {}),
    },
  };
}

/** The evidence document (a sigstore bundle referrer, found by cosign) for the job, or none. */
export async function evaluationDocs(o: {
  outcome: JobOutcome;
  evidence: JobEvidence;
  key: KeyObject;
  subjectName: string;
  modelDigest: string;
}): Promise<
  { kind: 'test-result'; type: string; bytes: Buffer; title: string; annotations: Record<string, string> }[]
> {
  const predicate = evaluationPredicate(o.outcome, o.evidence);
  if (!predicate) return [];
  const bundle = await signStatement(statement(o.subjectName, o.modelDigest, PREDICATE_TEST_RESULT, predicate), o.key);
  return [
    {
      kind: 'test-result',
      type: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      bytes: Buffer.from(JSON.stringify(bundle)),
      title: EVALUATION_FILE,
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': PREDICATE_TEST_RESULT,
      },
    },
  ];
}

/**
 * The verified evaluation's metrics, checked against the link: every dataset it names must be one of the link's
 * materials with the same digest (an evaluation on other data does not count). Total: a reason, never a throw.
 */
export function evaluationFromStatement(
  st: Statement,
  materials: Record<string, { sha256: string }> | undefined,
): { metrics?: Record<string, number>; reason?: string } {
  const p = obj(st.predicate);
  const metrics = obj(p.metrics);
  const nums = Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === 'number')) as Record<
    string,
    number
  >;
  if (!['PASSED', 'WARNED', 'FAILED'].includes(String(p.result))) return { reason: 'test-result has no valid result' };
  const config = Array.isArray(p.configuration) ? p.configuration.map(obj) : [];
  if (!materials) return { reason: 'no verified in-toto link to compare the evaluation data with' };
  const off = config.filter((c) => materials[String(c.name)]?.sha256 !== obj(c.digest).sha256);
  if (off.length)
    return { reason: `evaluation data not among the link's materials: ${off.map((c) => c.name).join(', ')}` };
  // A FAILED result (non-finite metrics, a diverged run) is genuine evidence: its finite metrics still count.
  return { metrics: nums };
}

/**
 * The chain's evaluation: the verified test-result statements about this manifest (judged by evidence-check.ts:
 * the platform key, subject = this digest, so one replayed from another model never gets here), the first
 * whose data matches the link. Returns the verdict used, a check when there is an evaluation, and its metrics.
 */
export function judgeEvaluation(
  verdicts: EvidenceVerdict[],
  materials: Record<string, { sha256: string }> | undefined,
): { used?: EvidenceVerdict; check?: VerificationCheck; metrics?: Record<string, number> } {
  const found = verdicts.filter(
    (v) => v.verified && v.kind === 'sigstore-bundle' && v.content?.statement?.predicateType === PREDICATE_TEST_RESULT,
  );
  if (!found.length) return {};
  const judged = found.map((v) => ({ v, r: evaluationFromStatement(v.content!.statement!, materials) }));
  const good = judged.find((j) => j.r.metrics);
  const pick = good ?? judged[0]!;
  return {
    used: pick.v,
    check: {
      name: 'evaluation (test-result) matches the link',
      passed: !!good,
      ...(good ? {} : { reason: pick.r.reason ?? 'no usable evaluation' }),
    },
    ...(good ? { metrics: good.r.metrics } : {}),
  };
}
