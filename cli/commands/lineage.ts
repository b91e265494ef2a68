import { Command, Option } from 'commander';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { colors, out, printJson, shortDigest, type Colors } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';
import { parseModelRef } from '../registry.ts';

type NodeKind = 'MODEL_VERSION' | 'DATASET' | 'JOB' | 'TRAINER_IMAGE';
type EdgeKind = 'TRAINED_ON' | 'FINE_TUNED_FROM' | 'TRAINED_BY' | 'RAN_IN' | 'PRODUCED';
export interface LineageNode {
  id: string;
  kind: NodeKind;
  label: string;
  digest: string | null;
  ref: string | null;
}
export interface LineageEdge {
  from: string;
  to: string;
  kind: EdgeKind;
}
interface LineageData {
  modelVersion: { ref: string; repository: string; digest: string } | null;
  lineage: { nodes: LineageNode[]; edges: LineageEdge[] };
}

const QUERY = `query Lineage($ref: String!, $direction: LineageDirection, $depth: Int) {
  modelVersion(ref: $ref) { ref repository digest }
  lineage(ref: $ref, direction: $direction, depth: $depth) {
    nodes { id kind label digest ref }
    edges { from to kind }
  }
}`;

/**
 * Edges read subject → object; for the tree each becomes (made thing → what it was made from). Only PRODUCED
 * points the other way (job → model). TRAINED_BY and PRODUCED say the same thing, so pairs are deduplicated.
 */
function sourcesOf(edges: LineageEdge[]): Map<string, { id: string; kind: EdgeKind }[]> {
  const up = new Map<string, { id: string; kind: EdgeKind }[]>();
  for (const e of edges) {
    const [made, source] = e.kind === 'PRODUCED' ? [e.to, e.from] : [e.from, e.to];
    const list = up.get(made) ?? [];
    if (!list.some((x) => x.id === source))
      list.push({ id: source, kind: e.kind === 'PRODUCED' ? 'TRAINED_BY' : e.kind });
    up.set(made, list);
  }
  return up;
}

function derivedOf(edges: LineageEdge[]): Map<string, { id: string; kind: EdgeKind }[]> {
  const down = new Map<string, { id: string; kind: EdgeKind }[]>();
  for (const [made, sources] of sourcesOf(edges)) {
    for (const s of sources) {
      const list = down.get(s.id) ?? [];
      if (!list.some((x) => x.id === made)) list.push({ id: made, kind: s.kind });
      down.set(s.id, list);
    }
  }
  return down;
}

const kindWord: Record<NodeKind, string> = {
  MODEL_VERSION: 'model',
  DATASET: 'dataset',
  JOB: 'job',
  TRAINER_IMAGE: 'image',
};
const edgeWord: Record<EdgeKind, [up: string, down: string]> = {
  TRAINED_ON: ['trained on', 'training data of'],
  FINE_TUNED_FROM: ['fine-tuned from', 'base of'],
  TRAINED_BY: ['trained by', 'produced'],
  RAN_IN: ['ran in', 'ran'],
  PRODUCED: ['trained by', 'produced'],
};

function nodeText(n: LineageNode | undefined, id: string, c: Colors): string {
  if (!n) return id;
  // Full digests stay in --json; the tree shortens them to docker's 12 hex digits.
  const name = (n.ref ?? n.label).replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/g, 'sha256:$1');
  const digest = n.digest && !name.includes(shortDigest(n.digest)) ? ` ${c.dim(shortDigest(n.digest))}` : '';
  return `${c.cyan(kindWord[n.kind] ?? n.kind)} ${c.bold(name)}${digest}`;
}

/** Draws the tree below `root` following `next`, each node once (a repeat is marked, not expanded again). */
export function drawTree(
  rootId: string,
  nodes: Map<string, LineageNode>,
  next: Map<string, { id: string; kind: EdgeKind }[]>,
  dir: 0 | 1,
  c: Colors,
): string[] {
  const lines: string[] = [nodeText(nodes.get(rootId), rootId, c)];
  const seen = new Set([rootId]);
  const walk = (id: string, prefix: string): void => {
    const kids = next.get(id) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const again = seen.has(k.id);
      seen.add(k.id);
      lines.push(
        `${prefix}${last ? '└── ' : '├── '}${c.dim(edgeWord[k.kind][dir])} ${nodeText(nodes.get(k.id), k.id, c)}${again ? c.dim(' (see above)') : ''}`,
      );
      if (!again) walk(k.id, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(rootId, '');
  if (lines.length === 1) lines.push(c.dim('└── (nothing)'));
  return lines;
}

/** `aibomgen lineage <ref>`: what a model was made from (upstream) and what was made from it (downstream). */
export function lineageCommand(): Command {
  return new Command('lineage')
    .description("show a model's lineage as a tree: datasets, base models, jobs, trainer images, derived models")
    .argument('<ref>', 'repository:tag or repository@sha256:... (a host:port/ prefix is accepted)')
    .addOption(
      new Option('--direction <dir>', 'upstream, downstream or both').choices(['up', 'down', 'both']).default('both'),
    )
    .option('--depth <n>', 'how many edges away to go (1..50)', '10')
    .option('--json', 'print the LineageGraph {nodes, edges} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  aibomgen lineage models/iris:1.0.0
  aibomgen lineage models/iris:1.0.0 --direction up --depth 2
  aibomgen lineage models/base:1.0.0 --direction down --json | jq '.nodes[] | select(.kind == "MODEL_VERSION") | .ref'
`,
    )
    .action(
      async (ref: string, opts: { direction: 'up' | 'down' | 'both'; depth: string; json?: boolean }, cmd: Command) => {
        const depth = Number(opts.depth);
        if (!Number.isInteger(depth) || depth < 1 || depth > 50)
          throw usageError(`--depth must be an integer from 1 to 50, got ${opts.depth}`);
        const client = new PlatformClient(resolvePlatform(cmd));
        const mref = parseModelRef(ref, client.baseUrl);
        const direction = { up: 'UPSTREAM', down: 'DOWNSTREAM', both: 'BOTH' }[opts.direction];
        const data = await client.graphql<LineageData>(QUERY, { ref: mref.short, direction, depth });
        if (!data.modelVersion) throw new CliError(`model ${mref.short} not found`, ExitCode.notFound);
        if (opts.json) return printJson(data.lineage);
        const c = colors();
        const nodes = new Map(data.lineage.nodes.map((n) => [n.id, n]));
        const rootId = `model:${data.modelVersion.repository}@${data.modelVersion.digest}`;
        if (!nodes.has(rootId))
          nodes.set(rootId, {
            id: rootId,
            kind: 'MODEL_VERSION',
            label: data.modelVersion.repository,
            digest: data.modelVersion.digest,
            ref: data.modelVersion.ref,
          });
        const sections: string[] = [];
        if (opts.direction !== 'down')
          sections.push(
            [c.bold('upstream (made from)'), ...drawTree(rootId, nodes, sourcesOf(data.lineage.edges), 0, c)].join(
              '\n',
            ),
          );
        if (opts.direction !== 'up')
          sections.push(
            [c.bold('downstream (made from it)'), ...drawTree(rootId, nodes, derivedOf(data.lineage.edges), 1, c)].join(
              '\n',
            ),
          );
        out(sections.join('\n\n'));
      },
    );
}
