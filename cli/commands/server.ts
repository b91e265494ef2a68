import { Command } from 'commander';

/** `aibomgen server`: the platform server (same as `npm start`), with flags for the common settings. */
export function serverCommand(): Command {
  return new Command('server')
    .description('start the platform server (REST, /v2/ registry, GraphQL) with embedded defaults')
    .option('--port <port>', 'port to listen on (env PORT)', process.env.PORT ?? '8080')
    .option('--host <host>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
    .option('--data-dir <dir>', 'data directory (env AIBOMGEN_DATA_DIR)', process.env.AIBOMGEN_DATA_DIR ?? './data')
    .addHelpText(
      'after',
      '\nExamples:\n  aibomgen server\n  aibomgen server --port 9000 --data-dir /var/lib/aibomgen\n',
    )
    .action(async (opts: { port: string; host: string; dataDir: string }) => {
      process.env.PORT = opts.port;
      process.env.HOST = opts.host;
      process.env.AIBOMGEN_DATA_DIR = opts.dataDir;
      await import('../../server/main.ts');
      // The server keeps the process alive until SIGINT/SIGTERM.
      await new Promise(() => {});
    });
}
