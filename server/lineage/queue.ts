/** Runs async jobs one at a time in arrival order; a failing job is reported and the queue goes on. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly onError: (e: unknown, what: string) => void) {}

  push(what: string, job: () => Promise<void>): void {
    this.pending++;
    this.tail = this.tail
      .then(job)
      .catch((e: unknown) => this.onError(e, what))
      .finally(() => {
        this.pending--;
      });
  }

  /** Resolves once every job queued so far has run. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }

  get size(): number {
    return this.pending;
  }
}
