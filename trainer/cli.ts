/** Command-line options of the trainer program: `--input <dir> --output <dir>` (defaults /input, /output). */
import { Command, CommanderError } from 'commander';

export interface CliOptions {
  input: string;
  output: string;
}

/** The options, or null when only help was asked for (already printed). Throws on bad arguments. */
export function parseCli(argv: string[]): CliOptions | null {
  const cmd = new Command('trainer')
    .description('Train a model on a defined dataset; JSON progress lines on stdout')
    .option('--input <dir>', 'input directory (model/, dataset, dataset_definition.yaml, params.json)', '/input')
    .option('--output <dir>', 'output directory (model/, metrics.json, logs.txt or error.json)', '/output')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stderr.write(s), writeErr: (s) => process.stderr.write(s) });
  try {
    cmd.parse(argv, { from: 'node' });
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return null;
    throw e;
  }
  const o = cmd.opts<CliOptions>();
  return { input: o.input, output: o.output };
}
