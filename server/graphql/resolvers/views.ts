import type { JobEvent, JobState, JobView } from '../../contracts.ts';
import type { VersionRow } from '../../lineage/queries.ts';

/** Shapes the GraphQL types resolve from (parents), and the mappings from the platform's contracts. */

export interface ModelParent {
  name: string;
}
export interface AliasParent {
  name: string;
  version: VersionRow;
}

export const toGqlState = (s: JobState): string => s.toUpperCase();
export const fromGqlState = (s: string): JobState => s.toLowerCase() as JobState;

export interface JobParent {
  id: string;
  state: string;
  owner: string;
  framework: string;
  trainer: string | null;
  trainerChoice: string | null;
  gpu: JobView['gpu'] | null;
  reason: string | null;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runner: unknown;
  isolated: boolean | null;
  /** Version node id of the publication, if any. */
  versionId: string | null;
}

export function jobParent(j: JobView): JobParent {
  return {
    id: j.id,
    state: toGqlState(j.state),
    owner: j.owner,
    framework: j.framework,
    trainer: j.trainer ?? null,
    trainerChoice: j.trainerChoice ?? null,
    gpu: j.gpu ?? null,
    reason: j.reason ?? null,
    params: j.params,
    metadata: { ...j.metadata },
    createdAt: j.createdAt,
    startedAt: j.startedAt ?? null,
    finishedAt: j.finishedAt ?? null,
    runner: j.runner ?? null,
    isolated: j.runner ? j.runner.isolated : null,
    versionId: j.publication ? `model:${j.publication.repository}@${j.publication.digest}` : null,
  };
}

export interface JobEventView {
  jobId: string;
  seq: number;
  type: string;
  state: string | null;
  reason: string | null;
  epoch: number | null;
  batch: number | null;
  logs: Record<string, number> | null;
  line: string | null;
  at: string;
}

export function jobEventView(e: JobEvent): JobEventView {
  const base = {
    jobId: e.jobId,
    seq: e.seq,
    type: e.type,
    at: e.at,
    state: null,
    reason: null,
    epoch: null,
    batch: null,
    logs: null,
    line: null,
  };
  switch (e.type) {
    case 'state':
      return { ...base, state: toGqlState(e.state), reason: e.reason ?? null };
    case 'epoch':
      return { ...base, epoch: e.epoch, logs: e.logs };
    case 'batch':
      return { ...base, epoch: e.epoch, batch: e.batch, logs: e.logs };
    case 'log':
      return { ...base, line: e.line };
  }
}

export function parseJson(text: string | null): unknown {
  return text ? (JSON.parse(text) as unknown) : null;
}
