import type { JobResponse } from '../schema/api.ts';
import type { JobEvent } from '../schema/jobs.ts';
import { jobStates as allJobStates, type JobState } from '../schema/job-states.ts';
import { formatLogs, numericOnly, type Colors } from './output.ts';

/** The states `jobs list --state` accepts: the server's own list (schema/job-states.ts), not a copy. */
export const jobStates: readonly JobState[] = allJobStates;

export function colorState(state: JobState, c: Colors): string {
  if (state === 'succeeded') return c.green(state);
  if (state === 'failed') return c.red(state);
  if (state === 'cancelled') return c.yellow(state);
  return c.cyan(state);
}

/** The readable form of `jobs show`. */
export function formatJob(j: JobResponse, c: Colors): string {
  const lines: [string, string | undefined][] = [
    ['job', c.bold(j.id)],
    ['state', `${colorState(j.state, c)}${j.reason ? ` — ${j.reason}` : ''}`],
    ['owner', j.owner],
    ['framework', j.framework],
    // The trainer that ran (or will): a TF.js job may run on the Keras trainer, chosen automatically.
    ['trainer', j.trainer ? `${j.trainer}${j.trainerChoice === 'auto' ? ' (chosen automatically)' : ''}` : undefined],
    ['gpu', j.gpu === undefined || j.gpu === false ? undefined : JSON.stringify(j.gpu)],
    ['created', j.createdAt],
    ['started', j.startedAt],
    ['finished', j.finishedAt],
    [
      'runner',
      j.runner
        ? `${j.runner.kind}${j.runner.isolated ? ' (isolated)' : ' (NOT isolated)'}${j.runner.image ? ` ${j.runner.image}` : ''}`
        : undefined,
    ],
    [
      'params',
      Object.keys(j.params ?? {}).length
        ? Object.entries(j.params)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(' ')
        : undefined,
    ],
    [
      'model',
      j.metadata?.model_name
        ? `${j.metadata.model_name}${j.metadata.model_version ? ` ${j.metadata.model_version}` : ''}`
        : undefined,
    ],
    ['inputs', j.inputs?.length ? j.inputs.map((i) => `${i.role}:${i.name}`).join(', ') : undefined],
    ['metrics', Object.keys(numericOnly(j.metrics)).length ? formatLogs(numericOnly(j.metrics)) : undefined],
    ['published', j.publication?.ref],
    ['digest', j.publication?.digest],
  ];
  return lines
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k.padEnd(10)} ${v}`)
    .join('\n');
}

/** One line per event for live progress (non-terminal output, `jobs logs -f`). */
export function formatEvent(e: JobEvent, c: Colors, epochs?: number): string | undefined {
  if (e.type === 'state') return `${c.dim(e.at)} state ${colorState(e.state, c)}${e.reason ? ` — ${e.reason}` : ''}`;
  // Epoch events count from 1 (the trainer numbers them as the seed shows them).
  if (e.type === 'epoch') return `${c.dim(e.at)} epoch ${e.epoch}${epochs ? `/${epochs}` : ''} ${formatLogs(e.logs)}`;
  if (e.type === 'log') return e.line;
  return undefined;
}
