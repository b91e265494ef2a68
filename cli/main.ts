import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.ts';
import { bomCommand } from './commands/bom.ts';
import { gcCommand } from './commands/gc.ts';
import { jobsCommand } from './commands/jobs.ts';
import { keysCommand } from './commands/keys.ts';
import { lineageCommand } from './commands/lineage.ts';
import { loginCommand } from './commands/login.ts';
import { modelsCommand } from './commands/models.ts';
import { pullCommand } from './commands/pull.ts';
import { serverCommand } from './commands/server.ts';
import { workerCommand } from './commands/worker.ts';
import { workersCommand } from './commands/workers.ts';
import { submitCommand } from './commands/submit.ts';
import { tokensCommand } from './commands/tokens.ts';
import { verifyCommand } from './commands/verify.ts';
import { CliError, ExitCode } from './errors.ts';
import { DEFAULT_SERVER } from './platform.ts';

const rootHelp = `
Exit codes (every command):
  0  ok
  1  failure (server error, job failed or cancelled, network down)
  2  usage: bad flags or arguments, or input the server rejected as invalid
  3  not found: no such job, model or reference
  4  verification failed: the model's evidence chain (or a pulled blob's digest) did not check out

Environment:
  AIBOMGEN_SERVER  platform URL (else the one stored by "aibomgen login", else ${DEFAULT_SERVER})
  AIBOMGEN_TOKEN   API token (else the one stored by "aibomgen login"; else, for the local server,
                   the first start's administrator token in ./data/keys/admin.token)
  AIBOMGEN_CONFIG  config file (default ~/.config/aibomgen/config.json)
  NO_COLOR         no colours; non-terminal output never has colours or progress bars

Examples:
  aibomgen server                                   # start the platform (embedded defaults)
  aibomgen login http://127.0.0.1:8080
  aibomgen tokens create ci --scopes registry:pull,registry:push
  aibomgen submit --model model.keras --dataset data.csv --definition definition.json --epochs 2
  aibomgen jobs ls --state running
  aibomgen verify models/iris:1.0.0
  aibomgen pull models/iris:1.0.0 -o ./iris
  aibomgen lineage models/iris:1.0.0 --direction up
  aibomgen bom show models/iris:1.0.0
`;

/** Every command (sub-sub ones included) throws instead of exiting, and prints commander's errors as they are. */
function throwInsteadOfExit(c: Command): void {
  c.exitOverride().configureOutput({ outputError: (str, write) => write(str) });
  for (const sub of c.commands) throwInsteadOfExit(sub);
}

/** Builds the `aibomgen` program; each subcommand lives in `cli/commands/<name>.ts`. */
export function program(): Command {
  const p = new Command('aibomgen')
    .description('Trusted AI training platform: train in isolation, publish models with signed AIBoMs, verify them')
    .version(process.env.npm_package_version ?? '0.1.0')
    // Global: which platform the client commands talk to.
    .option('--server <url>', 'platform URL', process.env.AIBOMGEN_SERVER ?? DEFAULT_SERVER)
    .showSuggestionAfterError()
    .addHelpText('after', rootHelp);
  for (const c of [
    serverCommand(),
    workerCommand(),
    workersCommand(),
    keysCommand(),
    gcCommand(),
    loginCommand(),
    tokensCommand(),
    submitCommand(),
    jobsCommand(),
    modelsCommand(),
    pullCommand(),
    verifyCommand(),
    lineageCommand(),
    bomCommand(),
    auditCommand(),
  ])
    p.addCommand(c);
  throwInsteadOfExit(p);
  return p;
}

/** Runs the CLI and returns the exit code (see `rootHelp`); errors are one sentence on stderr. */
export async function main(argv: string[]): Promise<number> {
  // `aibomgen jobs ls | head -1`: a closed pipe ends the command quietly instead of with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok);
    throw e;
  });
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version "errors" are successes; every other commander error is a usage error.
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version'
        ? ExitCode.ok
        : ExitCode.usage;
    }
    const code = e instanceof CliError ? e.exitCode : ExitCode.failure;
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`aibomgen: ${msg}\n`);
    return code;
  }
}
