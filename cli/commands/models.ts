import { Command } from 'commander';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { colors, formatLogs, numericOnly, out, printJson, shortDigest, table } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { parseReference } from '../../schema/reference.ts';
import type { VerificationReport } from '../../server/contracts.ts';

interface VersionSummary {
  ref: string;
  repository: string;
  tag: string | null;
  digest: string;
  created: string | null;
  framework: string | null;
  metrics: Record<string, unknown> | null;
}
interface VersionDetail extends VersionSummary {
  aibom: {
    name: string | null;
    version: string | null;
    author: string | null;
    license: string | null;
    datasets: string[];
    baseModels: string[];
    trainerImage: string | null;
    isolated: boolean | null;
  } | null;
  attestations: { kind: string; digest: string }[];
}
interface ModelNode {
  name: string;
  aliases: { name: string; version: { ref: string; digest: string } }[];
  latest: VersionSummary | null;
  versions: { digest: string }[];
}
interface ModelsData {
  models: {
    edges: { cursor: string; node: ModelNode }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

const VERSION_FIELDS = 'ref repository tag digest created framework metrics';

const MODELS_QUERY = `query Models($filter: ModelFilter, $first: Int, $after: String) {
  models(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { name aliases { name version { ref digest } } latest { ${VERSION_FIELDS} } versions { digest } } }
  }
}`;

const MODEL_QUERY = `query Model($name: String!) {
  model(name: $name) {
    name
    aliases { name version { ref digest } }
    latest { ${VERSION_FIELDS} verification { verified checks { name passed reason } } }
    versions { ${VERSION_FIELDS} aibom { name version author license datasets baseModels trainerImage isolated } attestations { kind digest } }
  }
}`;

/** `aibomgen models ls|show` through GraphQL (`models`, `model`). */
export function modelsCommand(): Command {
  const models = new Command('models').description('list published models and their versions (GraphQL)');
  models.addHelpText('after', '\nExamples:\n  aibomgen models ls --author alice\n  aibomgen models show models/iris\n');

  models
    .command('ls')
    .description('list models with their latest version')
    .option('--name <text>', 'name contains')
    .option('--author <author>', 'AIBoM author')
    .option('--license <license>', 'license name')
    .option('--task <task>', 'model task')
    .option('--framework <framework>', 'framework')
    .option('--created-after <iso>', 'created after this ISO 8601 time')
    .option('--created-before <iso>', 'created before this ISO 8601 time')
    .option('--verified', 'only models whose latest version verifies')
    .option('--first <n>', 'page size (1..100)', '20')
    .option('--after <cursor>', 'continue after this cursor')
    .option('--json', 'print the ModelConnection {edges, pageInfo, totalCount} as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  aibomgen models ls\n  aibomgen models ls --license MIT --verified\n  aibomgen models ls --json | jq -r '.edges[].node.name'\n",
    )
    .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const first = Number(opts.first);
      if (!Number.isInteger(first) || first < 1 || first > 100)
        throw usageError(`--first must be an integer from 1 to 100, got ${String(opts.first)}`);
      for (const k of ['createdAfter', 'createdBefore'] as const) {
        if (typeof opts[k] === 'string' && Number.isNaN(Date.parse(opts[k])))
          throw usageError(
            `--${k === 'createdAfter' ? 'created-after' : 'created-before'} must be an ISO 8601 time, got ${opts[k]}`,
          );
      }
      const filter: Record<string, unknown> = {};
      for (const k of ['name', 'author', 'license', 'task', 'framework', 'createdAfter', 'createdBefore'] as const)
        if (typeof opts[k] === 'string') filter[k] = opts[k];
      if (opts.verified) filter.verified = true;
      const data = await new PlatformClient(resolvePlatform(cmd)).graphql<ModelsData>(MODELS_QUERY, {
        filter,
        first,
        ...(opts.after ? { after: opts.after } : {}),
      });
      if (opts.json) return printJson(data.models);
      const conn = data.models;
      if (conn.edges.length === 0) return out('no models');
      out(
        table(
          ['NAME', 'LATEST', 'VERSIONS', 'DIGEST', 'CREATED'],
          conn.edges.map(({ node: m }) => [
            m.name,
            m.latest?.tag ?? '',
            String(m.versions.length),
            shortDigest(m.latest?.digest),
            m.latest?.created ?? '',
          ]),
        ),
      );
      if (conn.pageInfo.hasNextPage && conn.pageInfo.endCursor)
        process.stderr.write(
          `${conn.totalCount} models; more: aibomgen models ls --after ${conn.pageInfo.endCursor}\n`,
        );
    });

  models
    .command('show')
    .description('show one model: versions, aliases, metrics, AIBoM summary, verification')
    .argument('<name>', 'repository name, e.g. models/iris')
    .option('--json', 'print the Model as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  aibomgen models show models/iris\n  aibomgen models show models/iris --json | jq '.versions[].metrics'\n",
    )
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      // Accept host:port/models/iris and models/iris:1.0.0 too: the model is the repository.
      const repo = parseReference(name).repo;
      const data = await new PlatformClient(resolvePlatform(cmd)).graphql<{
        model:
          | (Omit<ModelNode, 'versions' | 'latest'> & {
              latest: (VersionSummary & { verification: VerificationReport | null }) | null;
              versions: VersionDetail[];
            })
          | null;
      }>(MODEL_QUERY, { name: repo });
      if (!data.model) throw new CliError(`model ${repo} not found`, ExitCode.notFound);
      if (opts.json) return printJson(data.model);
      const c = colors();
      const m = data.model;
      const lines = [`${c.bold(m.name)}${m.latest ? `  latest ${m.latest.tag ?? shortDigest(m.latest.digest)}` : ''}`];
      // Only the latest version is verified here (a full chain check each); aibomgen verify checks any other.
      const v = m.latest?.verification;
      if (v)
        lines.push(
          `verification of latest: ${
            v.verified
              ? c.green('verified')
              : c.red(
                  `FAILED (${v.checks
                    .filter((k) => !k.passed)
                    .map((k) => k.name)
                    .join(', ')})`,
                )
          }`,
        );
      if (m.aliases.length) lines.push(`aliases: ${m.aliases.map((a) => `${a.name} → ${a.version.ref}`).join(', ')}`);
      lines.push(
        '',
        table(
          ['TAG', 'DIGEST', 'CREATED', 'METRICS'],
          m.versions.map((x) => [
            x.tag ?? '',
            shortDigest(x.digest),
            x.created ?? '',
            formatLogs(numericOnly(x.metrics)),
          ]),
        ),
      );
      const latest = m.versions.find((v) => v.digest === m.latest?.digest);
      if (latest?.aibom) {
        const b = latest.aibom;
        lines.push(
          '',
          `AIBoM (${latest.tag ?? shortDigest(latest.digest)}): author ${b.author ?? '-'}, license ${b.license ?? '-'}, datasets ${b.datasets.length}, base models ${b.baseModels.length}, trainer ${b.trainerImage ?? '-'}, isolated ${b.isolated === null ? '-' : b.isolated ? 'yes' : 'NO'}`,
        );
      }
      lines.push('', `pull: aibomgen pull ${m.latest?.ref ?? m.name}`);
      out(lines.join('\n'));
    });
  return models;
}
