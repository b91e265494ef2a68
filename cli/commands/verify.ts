import { Command } from 'commander';
import { colors, out, printJson } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { parseModelRef } from '../registry.ts';
import { failedVerificationError, formatReport, verifyRef } from '../verification.ts';

/** `aibomgen verify <ref>`: the full evidence chain, with public keys only (--key) or by the platform's verifier. */
export function verifyCommand(): Command {
  return new Command('verify')
    .description('verify a published model: blobs, in-toto link + layout, AIBoM, DSSE attestations, signature')
    .argument('<ref>', 'host:port/repository:tag, repository:tag or repository@sha256:...')
    .option('--key <file>', 'verify here with this platform public key (PEM) instead of asking the platform')
    .option('--layout <file>', 'in-toto layout (root.layout), with --key')
    .option('--layout-key <file>', 'layout root public key (PEM), with --layout')
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .option('--json', 'print the VerificationReport as JSON')
    .addHelpText(
      'after',
      `
Without --key the platform's verifier (GET /verifier/verify/<ref>) checks the chain with its keys; with
--key the CLI checks it itself with public keys only and trusts nothing the server says.
Exit codes: 0 verified, 3 no such model, 4 not verified.

Examples:
  aibomgen verify models/iris:1.0.0
  aibomgen verify 127.0.0.1:8080/models/mnist:1.0.0 --key data/keys/platform.pub --layout data/keys/root.layout --layout-key data/keys/root.pub
  aibomgen verify models/iris:1.0.0 --json | jq '.checks[] | select(.passed | not)'
`,
    )
    .action(
      async (
        ref: string,
        opts: { key?: string; layout?: string; layoutKey?: string; plainHttp?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const client = new PlatformClient(resolvePlatform(cmd));
        const report = await verifyRef(client, parseModelRef(ref, client.baseUrl, opts.plainHttp), opts);
        if (opts.json) printJson(report);
        else out(formatReport(report, colors()));
        if (!report.verified) throw failedVerificationError(report);
      },
    );
}
