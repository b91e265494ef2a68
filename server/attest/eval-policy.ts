/**
 * Policies a verifier adds on top of a verification report (aibomgen verify --platform-trainer-only,
 * --require-eval 'accuracy>=0.9'). They read only the report's facts, which come from verified evidence alone
 * (verify-chain.ts), so they work the same on the platform's report and on the CLI's own, key-only one.
 */
import type { VerificationCheck, VerificationReport } from '../contracts.ts';

/** One `--require-eval` term: `accuracy>=0.9`. */
export interface EvalRequirement {
  metric: string;
  op: '>=' | '>' | '<=' | '<' | '==';
  value: number;
}

/** Parses `name op number`; throws a message naming the problem (the CLI turns it into a usage error). */
export function parseRequirement(s: string): EvalRequirement {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/i.exec(s);
  if (!m)
    throw new Error(`--require-eval '${s}': expected <metric><op><number>, e.g. accuracy>=0.9 (op: >= > <= < ==)`);
  return { metric: m[1]!, op: m[2] as EvalRequirement['op'], value: Number(m[3]) };
}

function holds(v: number, r: EvalRequirement): boolean {
  return { '>=': v >= r.value, '>': v > r.value, '<=': v <= r.value, '<': v < r.value, '==': v === r.value }[r.op];
}

/** The checks a verifier's policy adds on top of a report (its facts come only from verified evidence). */
export function policyChecks(
  report: VerificationReport,
  o: { platformTrainerOnly?: boolean; requireEval?: EvalRequirement[] },
): VerificationCheck[] {
  const checks: VerificationCheck[] = [];
  const kind = report.facts?.job_kind;
  if (o.platformTrainerOnly) {
    const ok = kind === 'platform';
    checks.push({
      name: 'policy: trained by the platform trainer',
      passed: ok,
      ...(ok
        ? {}
        : {
            reason: kind
              ? 'trained by a user-supplied trainer image (link step train-image)'
              : 'no verified in-toto link states the job kind',
          }),
    });
  }
  for (const r of o.requireEval ?? []) {
    const v = report.facts?.evaluation?.[r.metric];
    const ok = v !== undefined && holds(v, r);
    checks.push({
      name: `policy: evaluation ${r.metric}${r.op}${r.value}`,
      passed: ok,
      ...(ok
        ? {}
        : {
            reason: !report.facts?.evaluation
              ? 'no verified test-result attestation about this model'
              : v === undefined
                ? `the evaluation has no metric ${r.metric} (has ${Object.keys(report.facts.evaluation).join(', ') || 'none'})`
                : `${r.metric} is ${v}`,
          }),
    });
  }
  return checks;
}

/** The report with the policy checks appended (verified only when everything, policies included, passed). */
export function applyPolicies(
  report: VerificationReport,
  o: { platformTrainerOnly?: boolean; requireEval?: EvalRequirement[] },
): VerificationReport {
  const extra = policyChecks(report, o);
  return extra.length
    ? { ...report, checks: [...report.checks, ...extra], verified: report.verified && extra.every((c) => c.passed) }
    : report;
}
