import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { LineageEdgesTable, LineageNodesTable, LineageVersionsTable } from '../../schema/db/lineage.ts';
import { edgeEnds, type EdgeKind, type NodeKind } from './ids.ts';
import { primaryTagSql } from './manifest.ts';

export type Direction = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

export interface LineageGraph {
  nodes: { id: string; kind: NodeKind; label: string; digest: string | null; ref: string | null }[];
  edges: { from: string; to: string; kind: EdgeKind }[];
}

/**
 * Nodes within `depth` steps of `start` one way (recursive CTE over the covering edge indexes), and the edges
 * walked. `UNION` (not `UNION ALL`) keeps each (node, depth) once, so diamonds and cycles stay bounded.
 */
async function walk(
  db: Db,
  start: string,
  up: boolean,
  depth: number,
): Promise<{ nodes: LineageNodesTable[]; edges: LineageEdgesTable[] }> {
  const near = up ? 'e.down_id' : 'e.up_id';
  const far = up ? 'e.up_id' : 'e.down_id';
  const base = db
    .withRecursive('walk(id, depth)', (qb) =>
      qb.selectNoFrom([sql<string>`cast(${start} as text)`.as('id'), sql<number>`0`.as('depth')]).union(
        qb
          .selectFrom('walk')
          .innerJoin('lineage_edges as e', near, 'walk.id')
          .select([sql<string>`${sql.ref(far)}`.as('id'), sql<number>`walk.depth + 1`.as('depth')])
          .where('walk.depth', '<', depth),
      ),
    )
    .with('reached', (qb) =>
      qb
        .selectFrom('walk')
        .select(['walk.id', sql<number>`min(walk.depth)`.as('d')])
        .groupBy('walk.id'),
    );
  const nodes = await base
    .selectFrom('reached')
    .innerJoin('lineage_nodes as n', 'n.id', 'reached.id')
    .selectAll('n')
    .execute();
  const edges = await base
    .selectFrom('reached')
    .innerJoin('lineage_edges as e', near, 'reached.id')
    .select(['e.owner', 'e.up_id', 'e.down_id', 'e.kind'])
    .where('reached.d', '<', depth)
    .execute();
  return { nodes, edges };
}

export async function lineageGraph(db: Db, start: string, direction: Direction, depth: number): Promise<LineageGraph> {
  const parts = await Promise.all([
    direction !== 'DOWNSTREAM' ? walk(db, start, true, depth) : undefined,
    direction !== 'UPSTREAM' ? walk(db, start, false, depth) : undefined,
  ]);
  const nodes = new Map<string, LineageGraph['nodes'][number]>();
  const edges = new Map<string, LineageGraph['edges'][number]>();
  for (const p of parts) {
    if (!p) continue;
    for (const n of p.nodes)
      nodes.set(n.id, { id: n.id, kind: n.kind as NodeKind, label: n.label, digest: n.digest, ref: n.ref });
    for (const e of p.edges) {
      const ends = edgeEnds(e);
      edges.set(`${ends.from}\n${ends.to}\n${e.kind}`, { ...ends, kind: e.kind as EdgeKind });
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/**
 * The columns of a version that GraphQL's ModelVersion reads directly, plus the tag it was pushed under: what
 * `impact` lists by the thousand (each further column costs a property on every row).
 */
const SUMMARY_FIELDS = ['id', 'repo', 'digest', 'created', 'framework', 'job_id'] as const;
export type VersionSummary = Pick<LineageVersionsTable, (typeof SUMMARY_FIELDS)[number]> & {
  primary_tag: string | null;
};
const SUMMARY_COLUMNS = SUMMARY_FIELDS.map((f) => `v.${f}` as const);

/**
 * Every listed model version downstream of any of `starts` (no depth bound: `UNION` ends on cycles), oldest first.
 * The JSON documents stay in the database (half the cost of 10k rows); GraphQL loads them per field when asked.
 */
export async function downstreamVersions(db: Db, starts: string[], exclude: string[]): Promise<VersionSummary[]> {
  if (starts.length === 0) return [];
  let q = db
    .withRecursive('walk(id)', (qb) =>
      qb
        .selectFrom('lineage_nodes')
        .select('lineage_nodes.id')
        .where('lineage_nodes.id', 'in', starts)
        .union(qb.selectFrom('walk').innerJoin('lineage_edges as e', 'e.up_id', 'walk.id').select('e.down_id as id')),
    )
    .selectFrom('walk')
    .innerJoin('lineage_versions as v', 'v.id', 'walk.id')
    .select([...SUMMARY_COLUMNS, primaryTagSql(sql.ref('v.repo'), sql.ref('v.digest')).as('primary_tag')]);
  if (exclude.length > 0) q = q.where('v.id', 'not in', exclude);
  return q.orderBy('v.created').orderBy('v.id').execute();
}

/**
 * Graph nodes a digest names: a version, dataset, image or outside model with that digest; the artifacts that
 * hold it as a file (a dataset's CSV, a base model's weights); our versions holding it as a layer.
 * `direct` are the nodes that are the digest itself (excluded from their own impact).
 */
export async function nodesForDigest(db: Db, digest: string): Promise<{ starts: string[]; direct: string[] }> {
  const direct = (await db.selectFrom('lineage_nodes').select('id').where('digest', '=', digest).execute()).map(
    (r) => r.id,
  );
  const holders = db.selectFrom('lineage_layers').select('digest').where('layer_digest', '=', digest);
  const viaFile = await db.selectFrom('lineage_nodes').select('id').where('digest', 'in', holders).execute();
  const versions = await db
    .selectFrom('lineage_layers as l')
    .innerJoin('lineage_versions as v', (j) => j.onRef('v.repo', '=', 'l.repo').onRef('v.digest', '=', 'l.digest'))
    .select('v.id')
    .where('l.layer_digest', '=', digest)
    .execute();
  return { starts: [...new Set([...direct, ...viaFile.map((r) => r.id), ...versions.map((r) => r.id)])], direct };
}
