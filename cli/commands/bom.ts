import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { MediaType } from '../../schema/media-types.ts';
import type { BomJson } from '../../server/attest/aibom.ts';
import type { AibomSummary } from '../aibom-summary.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { colors, formatLogs, out, printJson, shortDigest, type Colors } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { parseModelRef, RegistryReader } from '../registry.ts';

/** `pkg:oci/x@sha256%3A…?repository_url=datasets%2Fx` → `datasets/x@sha256:0123456789ab` (where it lives in the registry). */
function ociLocation(purl: string | undefined): string | undefined {
  const m = purl ? /^pkg:oci\/[^@]+@([^?]+)\?(?:.*&)?repository_url=([^&]+)/.exec(purl) : null;
  return m ? `${decodeURIComponent(m[2]!)}@${shortDigest(decodeURIComponent(m[1]!))}` : purl;
}

function render(ref: string, digest: string, bomDigest: string, s: AibomSummary, c: Colors): string {
  const m = s.model;
  const h = (t: string): string => `\n${c.bold(t)}`;
  const kv = (k: string, v: string | undefined): string | undefined => (v ? `  ${k.padEnd(13)} ${v}` : undefined);
  const lines: (string | undefined)[] = [
    `${c.bold('AIBoM')} of ${ref}`,
    kv('model digest', digest),
    kv('AIBoM digest', bomDigest),
    kv('serial', s.serialNumber),
    kv('CycloneDX', s.specVersion),
    h('Model card'),
    kv('name', m.name),
    kv('version', m.version),
    kv('author', m.author),
    kv('license', m.licenses.join(', ') || undefined),
    kv('description', m.description),
    kv('task', m.task),
    kv('architecture', m.architecture),
    kv('intended use', m.useCases.join('; ') || undefined),
    kv('out of scope', m.limitations.join('; ') || undefined),
    kv('misuse', m.ethicalConsiderations.join('; ') || undefined),
    h('Datasets'),
    ...(s.datasets.length
      ? s.datasets.map(
          (d) =>
            `  ${d.name}${d.sha256 ? `  ${c.dim(`sha256:${d.sha256.slice(0, 12)}`)}` : ''}${d.purl ? `  ${c.dim(ociLocation(d.purl) ?? '')}` : ''}`,
        )
      : ['  (none)']),
    h('Base models'),
    ...(s.baseModels.length
      ? s.baseModels.map(
          (b) =>
            `  ${b.name}${b.sha256 ? `  ${c.dim(`sha256:${b.sha256.slice(0, 12)}`)}` : ''}${b.purl ? `  ${c.dim(ociLocation(b.purl) ?? '')}` : ''}${b.source ? `  from ${b.source}` : ''}`,
        )
      : ['  (none: trained from scratch)']),
    h('Training'),
    kv(
      'trainer image',
      s.trainerImage
        ? `${s.trainerImage.name}${s.trainerImage.sha256 ? ` (sha256:${s.trainerImage.sha256.slice(0, 12)})` : ''}`
        : '(none: process runner)',
    ),
    kv(
      'isolation',
      s.runner.isolated === undefined
        ? 'unknown'
        : s.runner.isolated
          ? c.green(`isolated (${s.runner.kind ?? 'container'}${s.runner.runtime ? `, ${s.runner.runtime}` : ''})`)
          : c.yellow(`NOT isolated (${s.runner.kind ?? 'process'} runner)`),
    ),
    kv('job', s.training.jobId),
    kv('ran', s.training.started && s.training.finished ? `${s.training.started} → ${s.training.finished}` : undefined),
    kv(
      'params',
      Object.keys(s.training.params).length
        ? Object.entries(s.training.params)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(' ')
        : undefined,
    ),
    h('Metrics'),
    Object.keys(s.metrics).length
      ? `  ${formatLogs(Object.fromEntries(Object.entries(s.metrics).map(([k, v]) => [k, Number.isFinite(Number(v)) ? Number(v) : v])))}`
      : '  (none)',
    h('Signer'),
    kv('algorithm', s.signer.algorithm ?? c.red('unsigned')),
    kv('key id', s.signer.keyId),
    kv('signature', s.signer.selfConsistent ? 'matches the embedded key' : c.red('does NOT match the embedded key')),
    kv(
      'trusted key',
      s.signer.trustedKey
        ? s.signer.trustedKey.verified
          ? c.green('signed by the given key')
          : c.red(s.signer.trustedKey.reason ?? 'not signed by the given key')
        : c.dim('not checked (give --key, or run aibomgen verify)'),
    ),
  ];
  return lines.filter((l) => l !== undefined).join('\n');
}

/** `aibomgen bom show <ref>`: the model's AIBoM referrer, fetched by digest and summarized. */
export function bomCommand(): Command {
  const bom = new Command('bom').description("read a model's AIBoM (CycloneDX 1.6)");
  bom.addHelpText(
    'after',
    '\nExamples:\n  aibomgen bom show models/iris:1.0.0\n  aibomgen bom show models/iris:1.0.0 --raw > iris.cdx.json\n',
  );
  bom
    .command('show')
    .description('summarize the AIBoM: model card, datasets, base models, trainer image, isolation, metrics, signer')
    .argument('<ref>', 'host:port/repository:tag, repository:tag or repository@sha256:...')
    .option('--key <file>', 'also check the AIBoM signature against this platform public key (PEM)')
    .option('--raw', 'print the CycloneDX document itself')
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .option('--json', 'print {ref, digest, aibomDigest, summary} as JSON')
    .addHelpText(
      'after',
      `
The AIBoM is the model's referrer with artifactType ${MediaType.cyclonedxJson}; every blob is checked
against its digest. This shows the document; "aibomgen verify" checks the whole evidence chain.

Examples:
  aibomgen bom show models/iris:1.0.0
  aibomgen bom show 127.0.0.1:8080/models/iris:1.0.0 --key data/keys/platform.pub
  aibomgen bom show models/iris:1.0.0 --json | jq .summary.datasets
`,
    )
    .action(
      async (ref: string, opts: { key?: string; raw?: boolean; plainHttp?: boolean; json?: boolean }, cmd: Command) => {
        if (opts.raw && opts.json) throw usageError('give --raw or --json, not both');
        let trustedPem: string | undefined;
        if (opts.key) {
          try {
            trustedPem = readFileSync(opts.key, 'utf8');
          } catch (e) {
            throw usageError(`--key ${opts.key} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
          }
        }
        const client = new PlatformClient(resolvePlatform(cmd));
        const mref = parseModelRef(ref, client.baseUrl, opts.plainHttp);
        const reader = new RegistryReader(mref, client);
        const { digest } = await reader.manifest();
        const boms = await reader.referrers(digest, MediaType.cyclonedxJson);
        if (boms.length === 0)
          throw new CliError(`${mref.short} (${shortDigest(digest)}) has no AIBoM referrer`, ExitCode.notFound);
        // Several AIBoMs (a re-publication): take the newest by its created annotation, else the last listed.
        const pick = [...boms]
          .sort((a, b) =>
            (a.annotations?.['org.opencontainers.image.created'] ?? '').localeCompare(
              b.annotations?.['org.opencontainers.image.created'] ?? '',
            ),
          )
          .at(-1)!;
        const { manifest } = await reader.manifest(pick.digest);
        const layer = manifest.layers.find((l) => l.mediaType === MediaType.cyclonedxJson) ?? manifest.layers[0];
        if (!layer) throw new CliError(`AIBoM referrer ${pick.digest} has no layer`);
        const bytes = await reader.blob(layer);
        let doc: BomJson;
        try {
          doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as BomJson;
        } catch {
          throw new CliError(`AIBoM ${layer.digest} is not JSON`);
        }
        if (doc.bomFormat !== 'CycloneDX') throw new CliError(`AIBoM ${layer.digest} is not a CycloneDX document`);
        if (opts.raw) return void process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        // Loaded on demand: signature checks pull in the attest modules.
        const { summarizeAibom } = await import('../aibom-summary.ts');
        const summary = summarizeAibom(doc, trustedPem);
        if (opts.json)
          printJson({ ref: mref.short, digest, aibomDigest: layer.digest, referrer: pick.digest, summary });
        else out(render(mref.short, digest, layer.digest, summary, colors()));
        if (summary.signer.trustedKey && !summary.signer.trustedKey.verified)
          throw new CliError(
            `the AIBoM of ${mref.short} is not signed by ${opts.key}: ${summary.signer.trustedKey.reason ?? 'signature check failed'}`,
            ExitCode.verificationFailed,
          );
      },
    );
  return bom;
}
