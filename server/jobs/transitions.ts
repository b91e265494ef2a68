/**
 * A job's state changes: each is checked against the state machine, written to its row, then recorded as a
 * `state` event, in that order (the row is what a view reads; the event is what a follower sees).
 */
import type { JobState } from '../contracts.ts';
import type { JobJournal } from './event-log.ts';
import type { JobQueue } from './queue.ts';
import { assertMove } from './state-machine.ts';

export type TerminalState = 'succeeded' | 'failed' | 'cancelled';

export class JobTransitions {
  constructor(
    private readonly queue: JobQueue,
    private readonly journal: JobJournal,
  ) {}

  /** A state of a live job to the next live state (running → attesting → publishing). */
  async move(id: string, from: JobState, to: JobState): Promise<void> {
    assertMove(from, to);
    await this.queue.setState(id, to);
    await this.journal.emit(id, { type: 'state', state: to });
  }

  /** A live job to its terminal state, with the reason a failure or a cancel has. */
  async finish(id: string, from: JobState, to: TerminalState, reason?: string): Promise<void> {
    assertMove(from, to);
    await this.queue.setFinished(id, to, reason, new Date().toISOString());
    await this.journal.emit(id, { type: 'state', state: to, ...(reason ? { reason } : {}) });
  }
}
