import { lstat, mkdir } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { Command } from 'commander';
import { Annotation } from '../../schema/media-types.ts';
import { CliError, ExitCode } from '../errors.ts';
import { colors, err, humanBytes, out, printJson, shortDigest } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { ProgressBar } from '../progress.ts';
import type { OciDescriptor } from '../../server/oci/client.ts';
import { parseModelRef, RegistryReader } from '../registry.ts';
import { collect, failedVerificationError, formatReport, verifyRef } from '../verification.ts';

/** The file a layer becomes under `dir`, or an error when its title would escape `dir` (as oras refuses). */
function targetPath(dir: string, title: string): string {
  const rel = normalize(title);
  const dest = resolve(dir, rel);
  if (isAbsolute(title) || rel.startsWith(`..${sep}`) || rel === '..' || relative(dir, dest).startsWith('..')) {
    throw new CliError(
      `layer title ${JSON.stringify(title)} points outside the output directory; refusing to write it`,
      ExitCode.verificationFailed,
    );
  }
  return dest;
}

/** `aibomgen pull <ref>`: like `oras pull`, after verifying the model's evidence chain. */
export function pullCommand(): Command {
  return new Command('pull')
    .description("download a model's files (layers named by org.opencontainers.image.title), verifying it first")
    .argument('<ref>', 'host:port/repository:tag, repository:tag or repository@sha256:...')
    .option('-o, --output <dir>', 'directory to write the files into', '.')
    .option('--no-verify', 'skip the evidence-chain verification (blob digests are still checked)')
    .option(
      '--key <file>',
      'verify here with this signer public key (PEM) instead of asking the platform (repeatable: any of them)',
      collect,
    )
    .option('--layout <file>', 'in-toto layout (root.layout): its functionary keys are trusted signers too')
    .option('--layout-key <file>', 'layout root public key (PEM), with --layout')
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .option('--json', 'print {ref, digest, verified, files: [{path, digest, size}]} as JSON')
    .addHelpText(
      'after',
      `
The model is verified first (the platform's verifier, or locally with --key / --layout); when it does not verify,
nothing is written and the exit code is 4. Files are then fetched by the verified manifest digest, each
checked against its digest before it appears under its name.

Examples:
  aibomgen pull models/iris:1.0.0 -o ./iris
  aibomgen pull 127.0.0.1:8080/models/iris:1.0.0 --key data/keys/platform.pub -o ./iris
  aibomgen pull models/iris@sha256:... --no-verify --json
`,
    )
    .action(
      async (
        ref: string,
        opts: {
          output: string;
          verify: boolean;
          key?: string[];
          layout?: string;
          layoutKey?: string;
          plainHttp?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const client = new PlatformClient(resolvePlatform(cmd));
        const mref = parseModelRef(ref, client.baseUrl, opts.plainHttp);
        const c = colors(process.stderr);
        let reference = mref.reference;
        let verified = false;
        if (opts.verify) {
          const report = await verifyRef(client, mref, opts);
          if (!report.verified) {
            if (!opts.json) err(formatReport(report, c));
            throw failedVerificationError(report);
          }
          verified = true;
          // Pull exactly what was verified, even if the tag moves meanwhile.
          if (report.digest) reference = report.digest;
          if (!opts.json) err(`${c.green('verified')} ${mref.short} (${shortDigest(report.digest)})`);
        }
        const reader = new RegistryReader(mref, client);
        const { digest, manifest } = await reader.manifest(reference);
        const dir = resolve(opts.output);
        const layers = manifest.layers.filter(
          (l): l is OciDescriptor & { annotations: Record<string, string> } => !!l.annotations?.[Annotation.title],
        );
        if (layers.length === 0)
          throw new CliError(`${mref.short} has no layers with ${Annotation.title}; nothing to pull`);
        // Check every target before writing the first file.
        const plan = layers.map((l) => ({
          layer: l,
          title: l.annotations[Annotation.title]!,
          dest: targetPath(dir, l.annotations[Annotation.title]!),
        }));
        const seen = new Set<string>();
        for (const p of plan) {
          if (seen.has(p.dest))
            throw new CliError(
              `two layers of ${mref.short} are titled ${JSON.stringify(p.title)}`,
              ExitCode.verificationFailed,
            );
          seen.add(p.dest);
          const st = await lstat(p.dest).catch(() => undefined);
          if (st?.isSymbolicLink() || st?.isDirectory())
            throw new CliError(
              `${p.dest} exists and is a ${st.isDirectory() ? 'directory' : 'symbolic link'}; refusing to overwrite it`,
            );
        }
        await mkdir(dir, { recursive: true });
        const total = plan.reduce((n, p) => n + p.layer.size, 0);
        const bar = new ProgressBar(`pull ${mref.short}`, total);
        let done = 0;
        const files: { path: string; digest: string; size: number; mediaType: string }[] = [];
        for (const p of plan) {
          const size = await reader.download(p.layer, p.dest, (n) => bar.update((done += n)));
          files.push({
            path: relative(dir, p.dest).split(sep).join('/'),
            digest: p.layer.digest,
            size,
            mediaType: p.layer.mediaType,
          });
        }
        bar.finish();
        if (opts.json)
          return printJson({ ref: mref.short, registry: mref.registry, digest, verified, directory: dir, files });
        for (const f of files)
          out(`${shortDigest(f.digest)}  ${humanBytes(f.size).padStart(10)}  ${join(opts.output, f.path)}`);
        err(
          `pulled ${files.length} file${files.length === 1 ? '' : 's'} (${humanBytes(total)}) of ${mref.short}@${digest}`,
        );
      },
    );
}
