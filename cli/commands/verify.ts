import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { Layout } from '../../server/attest/layout.ts';
import { OciPusher } from '../../server/attest/oci-push.ts';
import { verifyModel } from '../../server/attest/verify-chain.ts';

/** `aibomgen verify <ref>`: the full evidence chain from the registry with public keys only. */
export function verifyCommand(): Command {
  return new Command('verify')
    .description('verify a published model (blobs, in-toto link + layout, AIBoM, DSSE attestations) with public keys only')
    .argument('<ref>', 'host:port/repository:tag or host:port/repository@sha256:...')
    .requiredOption('--key <file>', 'platform public key (PEM)')
    .option('--layout <file>', 'in-toto layout (root.layout)')
    .option('--layout-key <file>', 'layout root public key (PEM)')
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample:\n  aibomgen verify 127.0.0.1:8080/models/mnist:1.0.0 --key data/keys/platform.pub --layout data/keys/root.layout --layout-key data/keys/root.pub\n')
    .action(async (ref: string, opts: { key: string; layout?: string; layoutKey?: string; plainHttp?: boolean; json?: boolean }) => {
      if (!!opts.layout !== !!opts.layoutKey) throw new Error('--layout and --layout-key go together');
      const host = ref.replace(/^oci:\/\//, '').split('/')[0] ?? '';
      const local = /^(127\.|localhost)/.test(host);
      const pusher = new OciPusher(`${opts.plainHttp || local ? 'http' : 'https'}://${host}`);
      const report = await verifyModel(pusher, ref, {
        platformPem: readFileSync(opts.key, 'utf8'),
        ...(opts.layout && opts.layoutKey ? { layout: JSON.parse(readFileSync(opts.layout, 'utf8')) as Layout, rootPem: readFileSync(opts.layoutKey, 'utf8') } : {}),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        process.stdout.write(`${report.verified ? 'VERIFIED' : 'FAILED'} ${report.ref}${report.digest ? ` (${report.digest})` : ''}\n`);
        for (const c of report.checks) process.stdout.write(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name}${c.reason ? ` — ${c.reason}` : ''}\n`);
      }
      process.exitCode = report.verified ? 0 : 1;
    });
}
