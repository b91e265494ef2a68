/** Tables of the registry front (manifest index, referrers, tags, blobs of the embedded store). Owned by server/registry. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface RegistryTables {}
