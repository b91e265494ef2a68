import { Command } from 'commander';
import { applyPolicies, parseRequirement } from '../../server/attest/eval-policy.ts';
import { usageError } from '../errors.ts';
import { colors, out, printJson } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { parseModelRef } from '../registry.ts';
import {
  applyMinScore,
  collect,
  failedVerificationError,
  formatReport,
  parseMinScore,
  verifyRef,
} from '../verification.ts';

/** `aibomgen verify <ref>`: the full evidence chain, with public keys only (--key) or by the platform's verifier. */
export function verifyCommand(): Command {
  return new Command('verify')
    .description('verify a published model: blobs, in-toto link + layout, AIBoM, DSSE attestations, signature')
    .argument('<ref>', 'host:port/repository:tag, repository:tag or repository@sha256:...')
    .option(
      '--key <file>',
      'verify here with this signer public key (PEM) instead of asking the platform (repeatable: any of them)',
      collect,
    )
    .option('--layout <file>', 'in-toto layout (root.layout): its functionary keys are trusted signers too')
    .option('--layout-key <file>', 'layout root public key (PEM), with --layout')
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .option(
      '--platform-trainer-only',
      'refuse a model trained by a user-supplied trainer image (link step train-image)',
    )
    .option(
      '--require-eval <metric op number>',
      "require the signed held-out evaluation to satisfy this, e.g. 'accuracy>=0.9' (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--min-score <n>', 'require the AIBoM completeness score (0-100, see bom show) to be at least n')
    .option('--json', 'print the VerificationReport as JSON')
    .addHelpText(
      'after',
      `
Without --key or --layout the platform's verifier (GET /verifier/verify/<ref>) checks the chain with its keys;
with them the CLI checks it itself with public keys only and trusts nothing the server says: evidence counts when
signed by a --key (repeatable) or by a functionary of a layout that verifies with --layout-key (the platform key
and every approved worker key); the report names the key that signed each piece.
Exit codes: 0 verified, 3 no such model, 4 not verified.

Examples:
  aibomgen verify models/iris:1.0.0
  aibomgen verify 127.0.0.1:8080/models/mnist:1.0.0 --key data/keys/platform.pub --layout data/keys/root.layout --layout-key data/keys/root.pub
  aibomgen verify 127.0.0.1:8080/models/mnist:1.0.0 --layout data/keys/root.layout --layout-key data/keys/root.pub
  aibomgen verify models/iris:1.0.0 --platform-trainer-only --require-eval 'accuracy>=0.9'
  aibomgen verify models/iris:1.0.0 --min-score 80
  aibomgen verify models/iris:1.0.0 --json | jq '.checks[] | select(.passed | not)'
`,
    )
    .action(
      async (
        ref: string,
        opts: {
          key?: string[];
          layout?: string;
          layoutKey?: string;
          plainHttp?: boolean;
          json?: boolean;
          platformTrainerOnly?: boolean;
          requireEval?: string[];
          minScore?: string;
        },
        cmd: Command,
      ) => {
        const requireEval = (opts.requireEval ?? []).map((r) => {
          try {
            return parseRequirement(r);
          } catch (e) {
            throw usageError((e as Error).message);
          }
        });
        const minScore = opts.minScore === undefined ? undefined : parseMinScore(opts.minScore);
        const client = new PlatformClient(resolvePlatform(cmd));
        const checked = applyPolicies(
          await verifyRef(client, parseModelRef(ref, client.baseUrl, opts.plainHttp), opts),
          { platformTrainerOnly: opts.platformTrainerOnly, requireEval },
        );
        const report = minScore === undefined ? checked : applyMinScore(checked, minScore);
        if (opts.json) printJson(report);
        else out(formatReport(report, colors()));
        if (!report.verified) throw failedVerificationError(report);
      },
    );
}
