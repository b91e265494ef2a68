import { terminalJobStates, type JobState } from '../schema/job-states.ts';
import type { JobEvent } from '../schema/jobs.ts';
import { CliError, ExitCode } from './errors.ts';
import { apiError, type PlatformClient } from './platform.ts';
import { readSse } from './sse.ts';

/**
 * Follows `GET /developer/jobs/{id}/events` until the job's terminal state event and returns that state.
 * Past events are replayed first, so a caller sees the whole story; a dropped connection is resumed with
 * Last-Event-ID (a few tries), so no event is seen twice.
 */
export async function followJobEvents(
  client: PlatformClient,
  jobId: string,
  onEvent: (e: JobEvent) => void,
): Promise<{ state: JobState; reason?: string }> {
  let lastId: string | undefined;
  let failures = 0;
  for (;;) {
    const res = await client.fetch(`/developer/jobs/${encodeURIComponent(jobId)}/events`, {
      headers: { accept: 'text/event-stream', ...(lastId !== undefined ? { 'last-event-id': lastId } : {}) },
    });
    if (!res.ok) throw await apiError(res, `job ${jobId} events`);
    if (!res.body) throw new CliError(`the event stream of job ${jobId} has no body`);
    try {
      for await (const m of readSse(res.body)) {
        if (m.id !== undefined) lastId = m.id;
        let e: JobEvent;
        try {
          e = JSON.parse(m.data) as JobEvent;
        } catch {
          continue; // not a job event (e.g. a keep-alive with data)
        }
        failures = 0;
        onEvent(e);
        if (e.type === 'state' && terminalJobStates.includes(e.state))
          return { state: e.state, ...(e.reason ? { reason: e.reason } : {}) };
      }
    } catch (e) {
      if (e instanceof CliError) throw e;
      // A reset connection: fall through to resume.
    }
    if (++failures > 5)
      throw new CliError(`the event stream of job ${jobId} ended before the job finished`, ExitCode.failure);
    await new Promise((r) => setTimeout(r, 200 * failures));
  }
}
