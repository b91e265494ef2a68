/** Tables of attestations and publications. Owned by server/attest and server/publish. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AttestTables {}
