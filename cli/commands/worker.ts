import { Command } from 'commander';

/** `aibomgen worker`: runs queued jobs from the shared database; serves nothing (see server/worker.ts). */
export function workerCommand(): Command {
  return new Command('worker')
    .description('run training jobs queued by API nodes (shared database, data directory and registry store)')
    .option(
      '--data-dir <dir>',
      'data directory shared with the API nodes (env AIBOMGEN_DATA_DIR)',
      process.env.AIBOMGEN_DATA_DIR ?? './data',
    )
    .option(
      '--id <id>',
      "worker id; a restart recovers only this id's jobs (env AIBOMGEN_WORKER_ID, default the host name)",
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  AIBOMGEN_ROLE=api npm start & aibomgen worker            # one host: API process + worker process',
        '  AIBOMGEN_DATABASE_URL=postgres://… aibomgen worker --id gpu-1',
        '',
      ].join('\n'),
    )
    .action(async (opts: { dataDir: string; id?: string }) => {
      process.env.AIBOMGEN_DATA_DIR = opts.dataDir;
      if (opts.id) process.env.AIBOMGEN_WORKER_ID = opts.id;
      await import('../../server/worker.ts');
      await new Promise(() => {});
    });
}
