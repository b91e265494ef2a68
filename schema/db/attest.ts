/** Tables of the attest area (publication). Owned by server/attest. */
export interface AttestTables {
  /** Who owns a model name: the first owner who published into `<trusted namespace>/<name>`. */
  attest_model_names: { repo: string; owner: string; created_at: string };
}
