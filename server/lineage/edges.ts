import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import { nodeId, shortDigest, type GraphEdge, type GraphNode } from './ids.ts';
import { primaryTagSql } from './manifest.ts';

type Tx = Pick<Db, 'selectFrom' | 'selectNoFrom' | 'insertInto' | 'deleteFrom' | 'updateTable'>;

/** Label and ref of a model version node: `repo:tag` when tagged. */
export async function versionNode(db: Tx, repo: string, digest: string): Promise<GraphNode> {
  const tag = (await db.selectNoFrom(primaryTagSql(sql.val(repo), sql.val(digest)).as('tag')).executeTakeFirst())?.tag;
  return {
    id: nodeId.model(repo, digest),
    kind: 'MODEL_VERSION',
    label: tag ? `${repo}:${tag}` : `${repo}@${shortDigest(digest)}`,
    digest,
    ref: `${repo}@${digest}`,
  };
}

/**
 * What a base-model claim points at, in order: the named manifest when it is one of our versions; else our
 * versions that hold one of its files as a weight layer (a model's `.keras` re-uploaded as a job's base model);
 * else the named thing itself, as a node that is not a listed version.
 */
async function resolveBaseModel(db: Tx, owner: string, repo: string | null, digest: string): Promise<GraphNode[]> {
  let direct = db.selectFrom('lineage_versions').select(['repo', 'digest']).where('digest', '=', digest);
  if (repo) direct = direct.where('repo', '=', repo);
  const hits = (await direct.execute()).filter((v) => nodeId.model(v.repo, v.digest) !== owner);
  if (hits.length === 0) {
    // The named artifact's files (or the digest itself, when it names a file) against our versions' weights.
    const files = repo
      ? db.selectFrom('lineage_layers').select('layer_digest').where('repo', '=', repo).where('digest', '=', digest)
      : undefined;
    const rows = await db
      .selectFrom('lineage_layers as l')
      .innerJoin('lineage_versions as v', (j) => j.onRef('v.repo', '=', 'l.repo').onRef('v.digest', '=', 'l.digest'))
      .select(['v.repo', 'v.digest'])
      .distinct()
      .where('l.is_weight', '=', 1)
      .where((eb) =>
        files
          ? eb.or([eb('l.layer_digest', 'in', files), eb('l.layer_digest', '=', digest)])
          : eb('l.layer_digest', '=', digest),
      )
      .execute();
    hits.push(...rows.filter((v) => nodeId.model(v.repo, v.digest) !== owner));
  }
  if (hits.length > 0) return Promise.all(hits.map((v) => versionNode(db, v.repo, v.digest)));
  const id = repo ? nodeId.model(repo, digest) : `model:${digest}`;
  return [
    {
      id,
      kind: 'MODEL_VERSION',
      label: repo ? `${repo}@${shortDigest(digest)}` : shortDigest(digest),
      digest,
      ref: repo ? `${repo}@${digest}` : digest,
    },
  ];
}

function repoLabel(repo: string | null, digest: string): string {
  return repo ? `${repo}@${shortDigest(digest)}` : shortDigest(digest);
}

/**
 * Replaces the edges owned by version `owner` with what its claims resolve to now, creates the nodes they
 * need, and drops nodes that no edge and no version uses any more. Idempotent; run after any change that can
 * alter a resolution (the version, its evidence, or an artifact a claim names).
 */
export async function rebuildEdges(db: Db, owner: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const old = await tx.selectFrom('lineage_edges').select(['up_id', 'down_id']).where('owner', '=', owner).execute();
    await tx.deleteFrom('lineage_edges').where('owner', '=', owner).execute();
    const v = await tx
      .selectFrom('lineage_versions')
      .select(['repo', 'digest'])
      .where('id', '=', owner)
      .executeTakeFirst();
    const touched = new Set(old.flatMap((e) => [e.up_id, e.down_id]));
    if (v) {
      const claims = await tx.selectFrom('lineage_claims').selectAll().where('owner', '=', owner).execute();
      const nodes = new Map<string, GraphNode>();
      const edges: GraphEdge[] = [];
      const self = await versionNode(tx, v.repo, v.digest);
      nodes.set(self.id, self);
      const jobs = [...new Set(claims.filter((c) => c.kind === 'job').map((c) => c.value))];
      for (const j of jobs) {
        nodes.set(nodeId.job(j), { id: nodeId.job(j), kind: 'JOB', label: j, digest: null, ref: null });
        edges.push(
          { up: nodeId.job(j), down: owner, kind: 'TRAINED_BY' },
          { up: nodeId.job(j), down: owner, kind: 'PRODUCED' },
        );
      }
      for (const c of claims) {
        if (c.kind === 'dataset' && c.target_digest) {
          const id = nodeId.dataset(c.target_digest);
          // A named repository is the better label; a hash-only claim must not overwrite it.
          if (!nodes.has(id) || c.target_repo)
            nodes.set(id, {
              id,
              kind: 'DATASET',
              label: repoLabel(c.target_repo, c.target_digest),
              digest: c.target_digest,
              ref: c.target_repo ? `${c.target_repo}@${c.target_digest}` : c.target_digest,
            });
          edges.push({ up: id, down: owner, kind: 'TRAINED_ON' });
        } else if (c.kind === 'base-model' && c.target_digest) {
          for (const n of await resolveBaseModel(tx, owner, c.target_repo, c.target_digest)) {
            if (!nodes.has(n.id)) nodes.set(n.id, n);
            edges.push({ up: n.id, down: owner, kind: 'FINE_TUNED_FROM' });
          }
        } else if (c.kind === 'image' && jobs.length > 0) {
          const id = nodeId.image(c.value, c.target_digest ?? undefined);
          if (!nodes.has(id) || c.value.includes('@'))
            nodes.set(id, {
              id,
              kind: 'TRAINER_IMAGE',
              label: c.value.split('@')[0]!,
              digest: c.target_digest,
              ref: c.value,
            });
          for (const j of jobs) edges.push({ up: id, down: nodeId.job(j), kind: 'RAN_IN' });
        }
      }
      for (const n of nodes.values()) {
        // A listed version's node keeps its own label; claims only create the others.
        await tx
          .insertInto('lineage_nodes')
          .values(n)
          .onConflict((oc) => oc.column('id').doUpdateSet({ label: n.label, digest: n.digest, ref: n.ref }))
          .execute();
      }
      const unique = new Map(edges.map((e) => [`${e.up}\n${e.down}\n${e.kind}`, e]));
      if (unique.size > 0) {
        await tx
          .insertInto('lineage_edges')
          .values([...unique.values()].map((e) => ({ owner, up_id: e.up, down_id: e.down, kind: e.kind })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    } else {
      touched.add(owner);
    }
    await collectOrphans(tx, [...touched]);
  });
}

/** Deletes nodes that are neither a listed version nor an end of any edge. */
export async function collectOrphans(db: Tx, ids: string[]): Promise<void> {
  for (const id of ids) {
    const used = await db
      .selectFrom('lineage_edges')
      .select('owner')
      .where((eb) => eb.or([eb('up_id', '=', id), eb('down_id', '=', id)]))
      .limit(1)
      .executeTakeFirst();
    if (used) continue;
    const listed = await db.selectFrom('lineage_versions').select('id').where('id', '=', id).executeTakeFirst();
    if (!listed) await db.deleteFrom('lineage_nodes').where('id', '=', id).execute();
  }
}
