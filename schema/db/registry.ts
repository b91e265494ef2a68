/** Tables of the registry front (manifest/referrers index, tags of the embedded store). Owned by server/registry. */
export interface RegistryTables {
  /** Every manifest pushed through the front (both modes): answers referrers and the embedded store's metadata. */
  registry_manifests: {
    repo: string;
    digest: string;
    media_type: string;
    artifact_type: string | null;
    subject_digest: string | null;
    size: number;
    annotations_json: string | null;
    created_at: string;
  };
  /** Tags of the embedded store. */
  registry_tags: { repo: string; tag: string; digest: string };
}
