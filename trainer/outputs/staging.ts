/**
 * The output directory protocol: everything is written into a hidden staging dir inside the output dir and
 * moved into place only after training succeeded; on failure the staging dir is removed and only
 * `error.json` is written, so a failed job never leaves partial outputs.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorRecord } from '../../schema/trainer.ts';

export class OutputStaging {
  readonly dir: string;
  constructor(readonly outputDir: string) {
    this.dir = join(outputDir, `.staging-${process.pid}`);
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Moves every staged entry into the output dir. */
  async commit(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      await rm(join(this.outputDir, name), { recursive: true, force: true });
      await rename(join(this.dir, name), join(this.outputDir, name));
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Synchronous fail, for signal handlers (a killed job must not leave a staging dir behind either). */
  failSync(record: ErrorRecord): void {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.outputDir, { recursive: true });
    writeFileSync(join(this.outputDir, 'error.json'), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** Drops everything staged and leaves only error.json. */
  async fail(record: ErrorRecord): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.outputDir, { recursive: true });
    await writeFile(join(this.outputDir, 'error.json'), `${JSON.stringify(record, null, 2)}\n`);
  }
}
