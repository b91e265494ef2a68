import { Command } from 'commander';
import { resolve } from 'node:path';
import { initKeys, keysDir } from '../../server/attest/keys.ts';
import { usageError } from '../errors.ts';
import { out, printJson } from '../output.ts';

/** `aibomgen keys init`: platform signing key, layout root key and the signed in-toto layout. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('manage the platform signing keys and the in-toto layout');
  keys.addHelpText('after', '\nExample:\n  aibomgen keys init --data-dir ./data\n');
  keys
    .command('init')
    .description('create the platform key (ECDSA P-256), the layout root key and the signed layout when absent')
    .option('--data-dir <dir>', 'data directory (env AIBOMGEN_DATA_DIR)', process.env.AIBOMGEN_DATA_DIR ?? './data')
    .option(
      '--keys-dir <dir>',
      'keys directory (env AIBOMGEN_KEYS_DIR; default <data-dir>/keys)',
      process.env.AIBOMGEN_KEYS_DIR,
    )
    .option('--force', 'replace existing keys (invalidates earlier signatures)', false)
    .option('--layout-expires-days <n>', 'layout validity in days', '365')
    .option('--json', 'print {dir, created: [file names]} as JSON')
    .addHelpText(
      'after',
      `
The server creates these on its first start too; run this to create them ahead (e.g. to publish the
public keys) or to rotate them with --force.

Examples:
  aibomgen keys init
  aibomgen keys init --data-dir /var/lib/aibomgen --layout-expires-days 90
  aibomgen keys init --keys-dir /run/secrets/aibomgen-keys
`,
    )
    .action(
      async (opts: {
        dataDir: string;
        keysDir?: string;
        force: boolean;
        layoutExpiresDays: string;
        json?: boolean;
      }) => {
        const days = Number(opts.layoutExpiresDays);
        if (!Number.isInteger(days) || days < 1)
          throw usageError(`--layout-expires-days must be a positive integer, got ${opts.layoutExpiresDays}`);
        const dir = opts.keysDir ? resolve(opts.keysDir) : keysDir(resolve(opts.dataDir));
        const created = await initKeys(dir, { force: opts.force, layoutExpiresDays: days });
        if (opts.json) printJson({ dir, created });
        else out(created.length ? `created in ${dir}: ${created.join(', ')}` : `keys already present in ${dir}`);
      },
    );
  return keys;
}
