import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Layout } from '../server/attest/layout.ts';
import type { VerificationReport } from '../server/contracts.ts';
import { OciClient } from '../server/oci/client.ts';
import { CliError, ExitCode, usageError } from './errors.ts';
import type { Colors } from './output.ts';
import { apiError, type PlatformClient } from './platform.ts';
import type { ModelRef } from './registry.ts';

/**
 * Public trust material given on the command line; with it the CLI verifies by itself. `key`: one or more signer
 * public keys (`--key` may be repeated); the functionaries of a layout verified with `layoutKey` join them.
 */
export interface TrustFlags {
  key?: string | string[];
  layout?: string;
  layoutKey?: string;
}

/** commander's collector for a repeatable option (`--key a --key b` → [a, b]). */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError(`${flag} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The `--key` files' PEMs, each checked to be a public key (a bad file is a usage error, not a failed check). */
export function readKeyFlags(key: string | string[] | undefined): string[] {
  return (typeof key === 'string' ? [key] : (key ?? [])).map((file) => {
    const pem = readFlagFile('--key', file);
    try {
      createPublicKey(pem);
    } catch {
      throw usageError(`--key ${file} is not a PEM public key`);
    }
    return pem;
  });
}

/** The layout and its root key (--layout, --layout-key), and the signers it lists when it verifies with that key. */
async function readLayoutFlags(
  layoutFile: string,
  layoutKeyFile: string,
): Promise<{ layout: Layout; rootPem: string; signers: string[] }> {
  let layout: Layout;
  try {
    layout = JSON.parse(readFlagFile('--layout', layoutFile)) as Layout;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw usageError(`--layout ${layoutFile} is not JSON (${(e as Error).message})`);
  }
  const rootPem = readFlagFile('--layout-key', layoutKeyFile);
  const { layoutSigners } = await import('../server/attest/signers.ts');
  try {
    return { layout, rootPem, signers: layoutSigners(layout, rootPem) };
  } catch (e) {
    // Refused, not a failed check: a layout that does not verify must not silently narrow what is trusted.
    throw new CliError(
      `--layout ${layoutFile} yields no signers: ${(e as Error).message}`,
      ExitCode.verificationFailed,
    );
  }
}

/**
 * Verifies the full chain of `ref`: locally with public keys when `--key` (repeatable) or `--layout` is given
 * (trusting nothing the server says; the signers are the --key files plus the functionaries of a layout that
 * verifies with --layout-key), else by asking the platform's verifier (GET /verifier/verify/<ref>), which holds
 * the keys.
 */
export async function verifyRef(client: PlatformClient, ref: ModelRef, trust: TrustFlags): Promise<VerificationReport> {
  if (!!trust.layout !== !!trust.layoutKey) throw usageError('--layout and --layout-key go together');
  const keys = readKeyFlags(trust.key);
  if (keys.length > 0 || trust.layout) {
    const layout = trust.layout && trust.layoutKey ? await readLayoutFlags(trust.layout, trust.layoutKey) : undefined;
    const signers = [...keys, ...(layout?.signers ?? []).filter((p) => !keys.includes(p))];
    // Loaded on demand: the verifier pulls in the CycloneDX and sigstore libraries (slow to start).
    const { verifyModel } = await import('../server/attest/verify-chain.ts');
    // The platform token goes only to the platform's own registry.
    const oci = new OciClient(ref.registry, { headers: ref.onPlatform ? client.headers() : {} });
    try {
      return await verifyModel(
        oci,
        ref.short,
        layout ? { signers, layout: layout.layout, rootPem: layout.rootPem } : { signers },
      );
    } catch (e) {
      throw new CliError(`verification of ${ref.short} could not run: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!ref.onPlatform)
    throw usageError(
      `${ref.registry} is not the platform at ${client.baseUrl}; pass --key <platform.pub> (or --layout and --layout-key) to verify it with public keys`,
    );
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
