import { Command, CommanderError } from 'commander';
import { keysCommand } from './commands/keys.ts';
import { serverCommand } from './commands/server.ts';
import { verifyCommand } from './commands/verify.ts';

/** Builds the `aibomgen` program; each subcommand lives in `cli/commands/<name>.ts`. */
export function program(): Command {
  const p = new Command('aibomgen')
    .description('Trusted AI training platform: train in isolation, publish models with signed AIBoMs, verify them')
    .version(process.env.npm_package_version ?? '0.1.0')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    // Global: which platform the client commands talk to (env AIBOMGEN_SERVER, default the local server).
    .option('--server <url>', 'platform URL', process.env.AIBOMGEN_SERVER ?? 'http://127.0.0.1:8080');
  p.addCommand(serverCommand());
  p.addCommand(keysCommand());
  p.addCommand(verifyCommand());
  return p;
}

/** Runs the CLI and returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`aibomgen: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
