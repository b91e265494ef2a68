/**
 * Lineage at scale: 100k model versions in chains and trees written straight into the lineage tables, then
 * `lineage(depth: 50)` and `impact()` of a root dataset with ~10k descendants measured through the GraphQL server
 * as /graphql runs it (yoga: parse, validation and armor limits, compiled execution, resolvers, DataLoaders,
 * recursive CTEs on SQLite, JSON response), in process: no sockets and no token check. A naive walk (one query per
 * node, the N+1 pattern the CTE replaces) runs on the same data as the in-process baseline.
 * Prints p50/p95 against the targets (lineage p95 < 25 ms, impact p95 < 250 ms) and peak RSS.
 * Run: node --import tsx bench/lineage/run.ts   (BENCH_VERSIONS=100000, BENCH_RUNS=200)
 *      node --import tsx bench/lineage/run.ts --smoke   # 300 versions, a few runs: the whole path, no meaningful figures
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pino from 'pino';
import { loadConfig } from '../../server/config.ts';
import { compose } from '../../server/compose.ts';
import { PLATFORM } from '../../server/identity.ts';
import { openDatabase, type Db } from '../../server/db/connect.ts';
import { createGraphqlServer } from '../../server/graphql/area.ts';
import { nodeId } from '../../server/lineage/ids.ts';

// --smoke (test/bench): same generator, server and queries on a tiny graph (one impact tree of 100, 3 chains).
const SMOKE = process.argv.includes('--smoke');
const TOTAL = Number(process.env.BENCH_VERSIONS ?? (SMOKE ? 300 : 100_000));
const RUNS = Number(process.env.BENCH_RUNS ?? (SMOKE ? 5 : 200));
const IMPACT_RUNS = Number(process.env.BENCH_IMPACT_RUNS ?? (SMOKE ? 2 : 30));
const WARMUP = SMOKE ? 2 : 20;
const dir = mkdtempSync(join(tmpdir(), 'bench-lineage-'));
const dbPath = join(dir, 'aibomgen.db');

const digestOf = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (n: number): string => `${n.toFixed(2)} ms`;

interface Shape {
  rootDataset: string;
  chainTails: string[];
  versions: number;
  edges: number;
}

/** Chains (depth 60, for lineage depth 50), a ~10k-descendant forest under one dataset (for impact), filler trees. */
function generate(path: string): Shape {
  const sq = new SQLite(path);
  sq.pragma('journal_mode = WAL');
  sq.pragma('synchronous = OFF');
  const insNode = sq.prepare('insert into lineage_nodes (id, kind, label, digest, ref) values (?, ?, ?, ?, ?)');
  const insEdge = sq.prepare('insert into lineage_edges (owner, up_id, down_id, kind) values (?, ?, ?, ?)');
  const insVersion =
    sq.prepare(`insert into lineage_versions (id, repo, digest, media_type, artifact_type, created, framework, name, author, license, task, job_id)
    values (?, ?, ?, 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.cncf.model.manifest.v1+json', ?, 'tfjs', ?, 'bench', 'MIT', 'classification', ?)`);
  const insTag = sq.prepare('insert into lineage_tags (repo, tag, digest, created_at) values (?, ?, ?, ?)');
  const images = Array.from({ length: 5 }, (_, i) => digestOf(`image-${i}`));
  for (const d of images)
    insNode.run(nodeId.image(`trainers/tfjs@${d}`, d), 'TRAINER_IMAGE', 'trainers/tfjs', d, `trainers/tfjs@${d}`);
  let n = 0;
  let edges = 0;
  const dataset = (name: string): string => {
    const d = digestOf(`dataset-${name}`);
    insNode.run(nodeId.dataset(d), 'DATASET', `datasets/${name}`, d, `datasets/${name}@${d}`);
    return nodeId.dataset(d);
  };
  /** One version with its job; `parent` is a dataset node (TRAINED_ON) or a model node (FINE_TUNED_FROM). */
  const version = (repo: string, parent: string): string => {
    const i = n++;
    const digest = digestOf(`model-${i}`);
    const id = nodeId.model(repo, digest);
    const job = `job-${i}`;
    const created = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
    insVersion.run(id, repo, digest, created, repo.split('/')[1], job);
    insTag.run(repo, `v${i}`, digest, created);
    insNode.run(id, 'MODEL_VERSION', `${repo}:v${i}`, digest, `${repo}@${digest}`);
    insNode.run(nodeId.job(job), 'JOB', job, null, null);
    insEdge.run(id, parent, id, parent.startsWith('dataset:') ? 'TRAINED_ON' : 'FINE_TUNED_FROM');
    insEdge.run(id, nodeId.job(job), id, 'TRAINED_BY');
    insEdge.run(id, nodeId.job(job), id, 'PRODUCED');
    const img = images[i % images.length]!;
    insEdge.run(id, nodeId.image('', img), nodeId.job(job), 'RAN_IN');
    edges += 4;
    return id;
  };
  /** A fine-tune tree of `size` versions (fan-out 3) under `root`'s parent. */
  const tree = (repo: string, parent: string, size: number): void => {
    const queue = [version(repo, parent)];
    let made = 1;
    while (made < size) {
      const p = queue.shift()!;
      for (let k = 0; k < 3 && made < size; k++, made++) queue.push(version(repo, p));
    }
  };
  const chainTails: string[] = [];
  sq.transaction(() => {
    // ~10k descendants of one dataset: 100 trees of 100.
    const root = dataset('root');
    for (let t = 0; t < Math.min(100, TOTAL / 1000); t++) tree(`models/impact-${t}`, root, 100);
    // Chains of 60 for lineage(depth: 50): 60% of the versions.
    const chains = Math.floor((TOTAL * 0.6) / 60);
    for (let c = 0; c < chains; c++) {
      let prev = dataset(`chain-${c}`);
      for (let j = 0; j < 60; j++) prev = version(`models/chain-${c}`, prev);
      chainTails.push(prev);
    }
    // The rest as trees of 100 on their own datasets.
    for (let t = 0; n < TOTAL; t++) tree(`models/tree-${t}`, dataset(`tree-${t}`), Math.min(100, TOTAL - n));
  })();
  sq.close();
  return { rootDataset: digestOf('dataset-root'), chainTails, versions: n, edges };
}

/** The N+1 walk the CTE replaces: one indexed SELECT per visited node. */
async function naiveWalk(db: Db, start: string, up: boolean, depth: number): Promise<number> {
  const seen = new Set([start]);
  let frontier = [start];
  for (let d = 0; d < depth && frontier.length; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      const rows = up
        ? await db.selectFrom('lineage_edges').select('up_id as id').where('down_id', '=', id).execute()
        : await db.selectFrom('lineage_edges').select('down_id as id').where('up_id', '=', id).execute();
      for (const r of rows)
        if (!seen.has(r.id)) {
          seen.add(r.id);
          next.push(r.id);
        }
    }
    frontier = next;
  }
  return seen.size;
}

try {
  const t0 = performance.now();
  const setup = await openDatabase(dbPath); // migrations
  await setup.destroy();
  const shape = generate(dbPath);
  const genS = (performance.now() - t0) / 1000;
  console.log(
    `${SMOKE ? 'smoke (too small to time): ' : ''}generated ${shape.versions} versions, ${shape.edges} edges, ${shape.chainTails.length} chains in ${genS.toFixed(1)} s`,
  );

  const config = loadConfig({}, { dataDir: dir, databaseUrl: dbPath });
  // The platform as the server composes it, serving only (no job runs); its db is the generated one.
  const platform = await compose({ ...config, role: 'api' }, pino({ level: 'silent' }));
  const db = platform.db;
  const yoga = createGraphqlServer(platform);
  // Wall time, and this process's CPU time (user+system): on a shared machine the second shows the work itself.
  const cpu: Record<string, number[]> = { lineage: [], impact: [] };
  /** One POST /graphql, timed until the whole JSON response was read. */
  const run = async (
    query: string,
    variables: Record<string, unknown>,
    cpuOf?: number[],
  ): Promise<{ ms: number; data: Record<string, unknown> }> => {
    const start = performance.now();
    const c0 = process.cpuUsage();
    const res = await yoga.fetch(
      new Request('http://bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
      }),
      { caller: PLATFORM },
    );
    const text = await res.text();
    const took = performance.now() - start;
    const c = process.cpuUsage(c0);
    cpuOf?.push((c.user + c.system) / 1000);
    const r = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown[] };
    if (!res.ok || r.errors?.length || !r.data) throw new Error(`${res.status} ${text.slice(0, 500)}`);
    return { ms: took, data: r.data };
  };

  const lineageDoc =
    'query($ref: String!) { lineage(ref: $ref, direction: UPSTREAM, depth: 50) { nodes { id kind label digest ref } edges { from to kind } } }';
  const impactDoc = 'query($d: String!) { impact(digest: $d) { id ref digest created framework } }';

  // Warm-up (page cache, statement cache, JIT).
  for (let i = 0; i < WARMUP; i++) await run(lineageDoc, { ref: shape.chainTails[i % shape.chainTails.length]! });
  const first = await run(lineageDoc, { ref: shape.chainTails[0]! });
  const g = first.data.lineage as { nodes: unknown[]; edges: unknown[] };
  // A chain's tail sees its 60 versions (depth 50 reaches 50 of them), their jobs and images, and its dataset.
  if (g.nodes.length < 50 || g.edges.length < 50)
    throw new Error(`lineage(depth: 50) of a chain tail returned ${g.nodes.length} nodes, ${g.edges.length} edges`);
  const lin: number[] = [];
  for (let i = 0; i < RUNS; i++)
    lin.push((await run(lineageDoc, { ref: shape.chainTails[(i * 7919) % shape.chainTails.length]! }, cpu.lineage)).ms);

  await run(impactDoc, { d: shape.rootDataset });
  const imp: number[] = [];
  let impactCount = 0;
  for (let i = 0; i < IMPACT_RUNS; i++) {
    const r = await run(impactDoc, { d: shape.rootDataset }, cpu.impact);
    imp.push(r.ms);
    impactCount = (r.data.impact as unknown[]).length;
  }
  const expectedImpact = Math.max(1, Math.min(100, Math.floor(TOTAL / 1000))) * 100;
  if (impactCount !== expectedImpact)
    throw new Error(`impact(root dataset) returned ${impactCount} versions, the generator made ${expectedImpact}`);

  // Baseline: the same walks, one query per node.
  const naiveLin: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 50); i++) {
    const t = performance.now();
    await naiveWalk(db, shape.chainTails[(i * 7919) % shape.chainTails.length]!, true, 50);
    naiveLin.push(performance.now() - t);
  }
  const naiveImp: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await naiveWalk(db, nodeId.dataset(shape.rootDataset), false, 1000);
    naiveImp.push(performance.now() - t);
  }

  const line = (name: string, xs: number[], target: number, base: number[]): string =>
    `${name}: p50 ${ms(pct(xs, 50))}, p95 ${ms(pct(xs, 95))} (target p95 < ${target} ms: ${pct(xs, 95) < target ? 'PASS' : 'FAIL'}); ` +
    `baseline N+1 walk (one SELECT per node, ids only, no GraphQL) p50 ${ms(pct(base, 50))}, ratio baseline/resolver ${(pct(base, 50) / pct(xs, 50)).toFixed(2)}`;
  console.log(
    `lineage(depth: 50, UPSTREAM) returns ${g.nodes.length} nodes, ${g.edges.length} edges; impact(root dataset) returns ${impactCount} versions`,
  );
  console.log(line('lineage depth 50', lin, 25, naiveLin));
  console.log(line('impact 10k       ', imp, 250, naiveImp));
  console.log(
    `CPU time per query (this process): lineage p50 ${ms(pct(cpu.lineage!, 50))} p95 ${ms(pct(cpu.lineage!, 95))}; impact p50 ${ms(pct(cpu.impact!, 50))} p95 ${ms(pct(cpu.impact!, 95))}`,
  );
  console.log(
    `load average during the run: ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${(await import('node:os')).cpus().length} CPUs`,
  );
  console.log(
    `runs: ${lin.length} lineage, ${imp.length} impact; database ${dbPath.endsWith('.db') ? 'SQLite (file, WAL)' : dbPath}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
  await platform.close();
} finally {
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dbPath}`);
}
