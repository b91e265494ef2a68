import { Command } from 'commander';
import { MediaType } from '../../schema/media-types.ts';
import { CliError, ExitCode } from '../errors.ts';
import { shortDigest } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { judgedReferrers } from '../evidence-read.ts';
import { parseModelRef } from '../registry.ts';
import { collect } from '../verification.ts';

/** How `bom show` finds the trusted platform key (bom.ts: --key, else the platform's own). */
type TrustedKey = (
  client: PlatformClient,
  onPlatform: boolean,
  registry: string,
  keyFiles?: string[],
) => Promise<{ pems: string[]; name: string }>;

/**
 * `aibomgen bom spdx <ref>`: the model's SPDX 3.0.1 export, taken from the signed DSSE statement attached to it
 * (predicate https://spdx.dev/Document/v3.0.1) that verifies with the platform key and is about this manifest.
 */
export function bomSpdxCommand(trustedKey: TrustedKey): Command {
  return new Command('spdx')
    .description('print the SPDX 3.0.1 document (AI and Dataset profiles) of a model, from its signed statement')
    .argument('<ref>', 'host:port/repository:tag, repository:tag or repository@sha256:...')
    .option(
      '--key <file>',
      "a signer public key (PEM) the statement may be signed with (repeatable; default: the platform's own)",
      collect,
    )
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .addHelpText('after', '\nExamples:\n  aibomgen bom spdx models/iris:1.0.0 > iris.spdx3.json\n')
    .action(async (ref: string, opts: { key?: string[]; plainHttp?: boolean }, cmd: Command) => {
      const client = new PlatformClient(resolvePlatform(cmd));
      const mref = parseModelRef(ref, client.baseUrl, opts.plainHttp);
      const { pems, name: keyName } = await trustedKey(client, mref.onPlatform, mref.registry, opts.key);
      const { digest, verdicts } = await judgedReferrers(client, mref, pems, MediaType.sigstoreBundle);
      const good = verdicts
        .filter((v) => v.verified && v.kind === 'spdx')
        .sort((a, b) => a.digest.localeCompare(b.digest))[0];
      if (!good?.content?.statement)
        throw new CliError(
          `${mref.short} (${shortDigest(digest)}) has no SPDX statement signed by ${keyName} about this manifest`,
          verdicts.length ? ExitCode.verificationFailed : ExitCode.notFound,
        );
      process.stdout.write(`${JSON.stringify(good.content.statement.predicate, null, 2)}\n`);
    });
}
