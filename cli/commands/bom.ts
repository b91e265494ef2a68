import { Command } from 'commander';
import { MediaType } from '../../schema/media-types.ts';
import type { BomJson } from '../../server/attest/aibom.ts';
import type { Layout } from '../../server/attest/layout.ts';
import type { AibomSummary } from '../aibom-summary.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { colors, formatLogs, out, printJson, shortDigest, type Colors } from '../output.ts';
import { apiError, PlatformClient, resolvePlatform } from '../platform.ts';
import { parseModelRef } from '../registry.ts';
import { collect, readKeyFlags } from '../verification.ts';
import { bomSpdxCommand } from './bom-spdx.ts';
import { judgedReferrers } from '../evidence-read.ts';

/** `pkg:oci/x@sha256%3A…?repository_url=datasets%2Fx` → `datasets/x@sha256:0123456789ab` (where it lives in the registry). */
function ociLocation(purl: string | undefined): string | undefined {
  const m = purl ? /^pkg:oci\/[^@]+@([^?]+)\?(?:.*&)?repository_url=([^&]+)/.exec(purl) : null;
  return m ? `${decodeURIComponent(m[2]!)}@${shortDigest(decodeURIComponent(m[1]!))}` : purl;
}

interface Unverified {
  digest: string;
  artifactType: string | null;
  signerHint: string | null;
  reason: string;
}

function render(
  ref: string,
  digest: string,
  bomDigest: string,
  s: AibomSummary,
  c: Colors,
  unverified: Unverified[],
): string {
  const m = s.model;
  const h = (t: string): string => `\n${c.bold(t)}`;
  const kv = (k: string, v: string | undefined): string | undefined => (v ? `  ${k.padEnd(13)} ${v}` : undefined);
  const lines: (string | undefined)[] = [
    `${c.bold('AIBoM')} of ${ref}`,
    kv('model digest', digest),
    kv('AIBoM digest', bomDigest),
    kv('serial', s.serialNumber),
    kv('CycloneDX', s.specVersion),
    kv(
      'completeness',
      `${s.completeness.score}/100 (${s.completeness.rubric})${
        s.completeness.missing.length
          ? `; missing: ${s.completeness.missing.map((x) => `${x.field} (${x.tier})`).join(', ')}`
          : ''
      }`,
    ),
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
      s.signer.trustedKey?.verified
        ? c.green('signed by the trusted key, about this manifest')
        : c.red(s.signer.trustedKey?.reason ?? 'not signed by the trusted key'),
    ),
    ...(unverified.length
      ? [
          h('Unverified attachments (not shown: unsigned, another key or another model)'),
          ...unverified.map(
            (u) =>
              `  ${shortDigest(u.digest)}  ${u.artifactType ?? ''}${u.signerHint ? `  signer hint ${u.signerHint.slice(0, 16)} ${c.yellow('(unverified)')}` : ''}  ${c.dim(u.reason)}`,
          ),
        ]
      : []),
  ];
  return lines.filter((l) => l !== undefined).join('\n');
}

/**
 * The keys an AIBoM may be signed with to be shown: the --key files (repeatable), else the platform's own public
 * key when the model is in the platform's registry (the same trust as `aibomgen verify` without --key).
 */
async function trustedKey(
  client: PlatformClient,
  onPlatform: boolean,
  registry: string,
  keyFiles: string[] | undefined,
): Promise<{ pems: string[]; name: string }> {
  if (keyFiles?.length) return { pems: readKeyFlags(keyFiles), name: keyFiles.join(' or ') };
  if (!onPlatform)
    throw usageError(
      `${registry} is not the platform at ${client.baseUrl}: pass --key <platform.pub> to check the AIBoM`,
    );
  // The platform's signers: its key and every worker key of the layouts in force (checked with its layout key).
  const [layoutRes, rootRes] = await Promise.all([
    client.fetch('/verifier/layouts/root.layout'),
    client.fetch('/verifier/keys/root.pub'),
  ]);
  if (layoutRes.ok && rootRes.ok) {
    const { layoutSigners } = await import('../../server/attest/signers.ts');
    const pems = layoutSigners((await layoutRes.json()) as Layout, await rootRes.text());
    return { pems, name: `the platform's signers at ${client.baseUrl}` };
  }
  const res = await client.fetch('/web/keys/platform.pub');
  if (!res.ok) throw await apiError(res, 'the platform public key');
  return { pems: [await res.text()], name: `the platform key of ${client.baseUrl}` };
}

/** `aibomgen bom show <ref>`: the model's AIBoM that verifies, fetched by digest and summarized. */
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
    .option(
      '--key <file>',
      "a signer public key (PEM) the AIBoM may be signed with (repeatable; default: the platform's own)",
      collect,
    )
    .option('--raw', 'print the CycloneDX document itself')
    .option('--plain-http', 'talk http to the registry (default: http for 127.0.0.1/localhost, else https)')
    .option('--json', 'print {ref, digest, aibomDigest, summary} as JSON')
    .addHelpText(
      'after',
      `
The AIBoM is the model's referrer with artifactType ${MediaType.cyclonedxJson} whose JSF signature verifies with
the platform key (--key, else the platform's own) and which names this manifest; every blob is checked against
its digest. Other AIBoM referrers are listed as unverified attachments, their content never shown. Exit 4 when
none verifies. This shows the document; "aibomgen verify" checks the whole evidence chain.

Examples:
  aibomgen bom show models/iris:1.0.0
  aibomgen bom show 127.0.0.1:8080/models/iris:1.0.0 --key data/keys/platform.pub
  aibomgen bom show models/iris:1.0.0 --json | jq .summary.datasets
`,
    )
    .action(
      async (
        ref: string,
        opts: { key?: string[]; raw?: boolean; plainHttp?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        if (opts.raw && opts.json) throw usageError('give --raw or --json, not both');
        const client = new PlatformClient(resolvePlatform(cmd));
        const mref = parseModelRef(ref, client.baseUrl, opts.plainHttp);
        const { pems, name: keyName } = await trustedKey(client, mref.onPlatform, mref.registry, opts.key);
        // Each AIBoM referrer is judged on its own: shown only when it verifies with the trusted key and is about
        // this manifest.
        const { digest, verdicts } = await judgedReferrers(client, mref, pems, MediaType.cyclonedxJson);
        if (verdicts.length === 0)
          throw new CliError(`${mref.short} (${shortDigest(digest)}) has no AIBoM referrer`, ExitCode.notFound);
        // Not by date or position: the one that verifies (several can only be the same signed document).
        const good = verdicts.filter((v) => v.verified).sort((a, b) => a.digest.localeCompare(b.digest))[0];
        const unverifiedAttachments = verdicts
          .filter((v) => !v.verified)
          .map((v) => ({
            digest: v.digest,
            artifactType: v.artifactType,
            signerHint: v.signerHint,
            verified: false as const,
            reason: v.reason ?? 'does not verify',
          }));
        if (!good?.content) {
          if (opts.json) printJson({ ref: mref.short, digest, summary: null, unverifiedAttachments });
          const first = unverifiedAttachments[0]?.reason ?? 'signature check failed';
          throw new CliError(
            `the AIBoM of ${mref.short} is not signed by ${keyName} or not about this manifest (${unverifiedAttachments.length} unverified: ${first})`,
            ExitCode.verificationFailed,
          );
        }
        const doc = good.content.doc as BomJson;
        if (opts.raw) return void process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        const { summarizeAibom } = await import('../aibom-summary.ts');
        // Summarized against the key that verified it (the verdict names it).
        const { keyHint } = await import('../../server/attest/dsse.ts');
        const summary = summarizeAibom(
          doc,
          pems.find((p) => keyHint(p) === good.signerKeyId),
        );
        if (opts.json)
          printJson({
            ref: mref.short,
            digest,
            aibomDigest: good.content.layerDigest,
            referrer: good.digest,
            summary,
            unverifiedAttachments,
          });
        else out(render(mref.short, digest, good.content.layerDigest, summary, colors(), unverifiedAttachments));
      },
    );
  bom.addCommand(bomSpdxCommand(trustedKey));
  return bom;
}
