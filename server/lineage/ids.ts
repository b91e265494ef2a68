/** Node ids of the lineage graph (stable, readable): the GraphQL `LineageNode.id`. */
export const nodeId = {
  model: (repo: string, digest: string): string => `model:${repo}@${digest}`,
  dataset: (digest: string): string => `dataset:${digest}`,
  job: (id: string): string => `job:${id}`,
  /** By digest when the reference pins one, so two spellings of one image meet. */
  image: (ref: string, digest?: string): string => `image:${digest ?? ref}`,
};

export type NodeKind = 'MODEL_VERSION' | 'DATASET' | 'JOB' | 'TRAINER_IMAGE';
export type EdgeKind = 'TRAINED_ON' | 'FINE_TUNED_FROM' | 'TRAINED_BY' | 'RAN_IN' | 'PRODUCED';

export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string;
  digest: string | null;
  ref: string | null;
}

/** Stored in dependency direction (`up` made `down`); `PRODUCED` reads job → model, all others down → up. */
export interface GraphEdge {
  up: string;
  down: string;
  kind: EdgeKind;
}

export function edgeEnds(e: { up_id: string; down_id: string; kind: string }): { from: string; to: string } {
  return e.kind === 'PRODUCED' ? { from: e.up_id, to: e.down_id } : { from: e.down_id, to: e.up_id };
}

export function shortDigest(d: string): string {
  return d.slice(0, 19);
}
