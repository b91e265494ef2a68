/**
 * Tables of the lineage index (owner: server/lineage). Everything here is derived from the registry's
 * manifests and job publications, so it can be rebuilt; nothing else writes it.
 *
 * Edges are stored in dependency direction: `up_id` is what `down_id` was made from (a dataset, a base
 * model, a job, a trainer image). Each edge belongs to the model version whose evidence asserted it
 * (`owner`), so re-indexing one version replaces exactly its edges.
 */
export interface LineageTables {
  /** Every manifest seen on the /v2/ front, classified. */
  lineage_manifests: LineageManifestsTable;
  /** Layers of non-referrer manifests: fine-tune chains are found by shared weight files. */
  lineage_layers: LineageLayersTable;
  /** Tags as pushed; `created_at` tells a version's own tag (the first) from aliases added later. */
  lineage_tags: { repo: string; tag: string; digest: string; created_at: string };
  /** Model versions (the manifests `models`/`modelVersion` list). */
  lineage_versions: LineageVersionsTable;
  /** What a version's evidence says it came from, before resolution into edges. */
  lineage_claims: LineageClaimsTable;
  /** Job publications (`job.published`), keyed by job. */
  lineage_publications: { job_id: string; repo: string; digest: string; publication_json: string };
  lineage_nodes: LineageNodesTable;
  lineage_edges: LineageEdgesTable;
}

/** How the index treats a manifest. */
export type ManifestKind = 'model' | 'dataset' | 'base-model' | 'referrer' | 'signature' | 'index';

export interface LineageManifestsTable {
  repo: string;
  digest: string;
  kind: string; // ManifestKind
  artifact_type: string | null;
  subject_digest: string | null;
  annotations_json: string | null;
  /** Key id (sha256 of the SPKI) of the trusted key the evidence verified with; null when it did not verify. */
  signer_key_id: string | null;
  created_at: string;
  /** Evidence verdict: 1 signed by the trusted key and about its subject, 0 not; null for what is not evidence. */
  verified: number | null;
  /** in-toto-link, aibom, aibom-signature, slsa-provenance, cosign-signature, sigstore-bundle, other. */
  evidence_kind: string | null;
  /** The signer key id the document itself names (unverified: anyone can write it). */
  signer_hint: string | null;
  /** Why it does not count (verified = 0). */
  trust_reason: string | null;
}

export interface LineageLayersTable {
  repo: string;
  digest: string;
  layer_digest: string;
  media_type: string;
  /** 1 when the layer holds model weights (ModelPack weight type or a weight file name). */
  is_weight: number;
}

export interface LineageVersionsTable {
  /** Node id `model:<repo>@<digest>`. */
  id: string;
  repo: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  created: string | null;
  framework: string | null;
  name: string | null;
  author: string | null;
  license: string | null;
  task: string | null;
  job_id: string | null;
  annotations_json: string | null;
  config_json: string | null;
  metrics_json: string | null;
  /** AibomSummary JSON once an AIBoM referrer was indexed. */
  aibom_json: string | null;
  /** Last verification result (1/0), null when never verified. */
  verified: number | null;
  verified_at: string | null;
}

export interface LineageClaimsTable {
  owner: string;
  kind: string; // 'dataset' | 'base-model' | 'job' | 'image'
  target_repo: string | null;
  target_digest: string | null;
  /** The claim as written (a ref, a job id, an image reference). */
  value: string;
  /** Where it came from: annotation, aibom, publication. */
  origin: string;
}

export interface LineageNodesTable {
  id: string;
  kind: string; // MODEL_VERSION | DATASET | JOB | TRAINER_IMAGE
  label: string;
  digest: string | null;
  ref: string | null;
}

export interface LineageEdgesTable {
  owner: string;
  up_id: string;
  down_id: string;
  kind: string; // TRAINED_ON | FINE_TUNED_FROM | TRAINED_BY | RAN_IN | PRODUCED
}
