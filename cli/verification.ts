import { readFileSync } from 'node:fs';
import type { Layout } from '../server/attest/layout.ts';
import type { VerificationReport } from '../server/contracts.ts';
import { OciClient } from '../server/oci/client.ts';
import { CliError, ExitCode, usageError } from './errors.ts';
import type { Colors } from './output.ts';
import { apiError, type PlatformClient } from './platform.ts';
import type { ModelRef } from './registry.ts';

/** Public trust material given on the command line; with it the CLI verifies by itself. */
export interface TrustFlags {
  key?: string;
  layout?: string;
  layoutKey?: string;
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError(`${flag} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Verifies the full chain of `ref`: locally with public keys when `--key` is given (trusting nothing the
 * server says), else by asking the platform's verifier (GET /verifier/verify/<ref>), which holds the keys.
 */
export async function verifyRef(client: PlatformClient, ref: ModelRef, trust: TrustFlags): Promise<VerificationReport> {
  if (!!trust.layout !== !!trust.layoutKey) throw usageError('--layout and --layout-key go together');
  if (trust.key) {
    const platformPem = readFlagFile('--key', trust.key);
    const layout =
      trust.layout && trust.layoutKey
        ? {
            layout: JSON.parse(readFlagFile('--layout', trust.layout)) as Layout,
            rootPem: readFlagFile('--layout-key', trust.layoutKey),
          }
        : {};
    // Loaded on demand: the verifier pulls in the CycloneDX and sigstore libraries (slow to start).
    const { verifyModel } = await import('../server/attest/verify-chain.ts');
    // The platform token goes only to the platform's own registry.
    const oci = new OciClient(ref.registry, { headers: ref.onPlatform ? client.headers() : {} });
    try {
      return await verifyModel(oci, ref.short, { platformPem, ...layout });
    } catch (e) {
      throw new CliError(`verification of ${ref.short} could not run: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!ref.onPlatform)
    throw usageError(
      `${ref.registry} is not the platform at ${client.baseUrl}; pass --key <platform.pub> to verify it with public keys`,
    );
  if (trust.layout) throw usageError('--layout needs --key (the platform verifier uses its own layout)');
  const res = await client.fetch(`/verifier/verify/${ref.short}`, { headers: { accept: 'application/json' } });
  if (res.status !== 200 && res.status !== 422) throw await apiError(res, `verification of ${ref.short}`);
  return (await res.json()) as VerificationReport;
}

/** `--min-score N`: an integer 0–100. */
export function parseMinScore(v: string): number {
  if (!/^\d{1,3}$/.test(v) || Number(v) > 100)
    throw usageError(`--min-score must be an integer from 0 to 100, got ${v}`);
  return Number(v);
}

/**
 * `--min-score N` on a report: one more check, failed when the counted AIBoM scores below N (the missing fields
 * listed) or when there is no AIBoM to score. The score is the verifier's own (server/attest/score.ts).
 */
export function applyMinScore(report: VerificationReport, min: number): VerificationReport {
  const c = report.completeness;
  const passed = !!c && c.score >= min;
  const missing = c?.missing.map((m) => `${m.field} (${m.tier})`).join(', ');
  const reason = !c
    ? 'no verified AIBoM to score'
    : `score ${c.score} (${c.rubric})${passed ? '' : ` is below ${min}`}${missing ? `; missing: ${missing}` : ''}`;
  const check = { name: `AIBoM completeness score >= ${min}`, passed, ...(passed ? {} : { reason }) };
  return { ...report, verified: report.verified && passed, checks: [...report.checks, check] };
}

/** 3 when the model is not there at all, else 4. */
export function failedVerificationExit(
  report: VerificationReport,
): typeof ExitCode.notFound | typeof ExitCode.verificationFailed {
  const manifest = report.checks.find((c) => c.name === 'manifest');
  return manifest && !manifest.passed && /not found/i.test(manifest.reason ?? '')
    ? ExitCode.notFound
    : ExitCode.verificationFailed;
}

export function failedVerificationError(report: VerificationReport): CliError {
  const failed = report.checks.filter((c) => !c.passed);
  const code = failedVerificationExit(report);
  if (code === ExitCode.notFound) return new CliError(`${report.ref} not found`, code);
  const first = failed[0];
  return new CliError(
    `${report.ref} did not verify: ${failed.length} check${failed.length === 1 ? '' : 's'} failed${first ? ` (first: ${first.name}${first.reason ? ` — ${first.reason}` : ''})` : ''}`,
    code,
  );
}

/**
 * One line per check: ok, FAIL, or warn — a passed check with a reason is something attached that did not
 * count (unsigned, another key, another model) and fails nothing.
 */
export function formatReport(report: VerificationReport, c: Colors): string {
  const head = `${report.verified ? c.green('VERIFIED') : c.red('FAILED')} ${report.ref}${report.digest ? ` (${report.digest})` : ''}`;
  const mark = (k: VerificationReport['checks'][number]): string =>
    !k.passed ? c.red('FAIL') : k.reason ? c.yellow('warn') : c.green('ok  ');
  return [head, ...report.checks.map((k) => `  ${mark(k)} ${k.name}${k.reason ? ` — ${k.reason}` : ''}`)].join('\n');
}
