import { humanBytes, interactive } from './output.ts';

/**
 * A one-line progress bar redrawn on stderr with a carriage return (no ANSI escapes at all). It draws only
 * when stderr is a terminal; otherwise every call is a no-op, so piped or logged output stays plain lines.
 */
export class ProgressBar {
  private readonly on: boolean;
  private last = 0;
  private done = false;
  private drawn = 0;
  private shown = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: 'bytes' | 'count' = 'bytes',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.on = interactive(stream);
  }

  update(current: number): void {
    if (!this.on || this.done) return;
    const now = Date.now();
    // Redraw at most ~10 times a second, but always draw the final state.
    if (current < this.total && now - this.last < 100) return;
    this.last = now;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - this.label.length - 40));
    const frac = this.total > 0 ? Math.min(1, current / this.total) : 1;
    const filled = Math.round(frac * width);
    const amount =
      this.unit === 'bytes' ? `${humanBytes(current)}/${humanBytes(this.total)}` : `${current}/${this.total}`;
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${amount}`;
    // Padding to the previous length erases what a longer earlier line left behind.
    this.stream.write(`\r${line.padEnd(this.drawn)}`);
    this.drawn = line.length;
    this.shown = current;
  }

  finish(): void {
    if (!this.on || this.done) return;
    if (this.shown !== this.total || this.drawn === 0) this.update(this.total);
    this.done = true;
    this.stream.write('\n');
  }

  /** Clears the bar's line so a regular line can be printed. */
  clear(): void {
    if (this.on && !this.done && this.drawn > 0) {
      this.stream.write(`\r${' '.repeat(this.drawn)}\r`);
      this.drawn = 0;
      this.last = 0; // the next update redraws at once
    }
  }
}
