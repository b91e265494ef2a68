/** Tables of training jobs (state machine, inputs, artifacts, events). Owned by server/jobs. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface JobTables {}
