import { Command } from 'commander';
import { resolve } from 'node:path';
import { initKeys, keysDir } from '../../server/attest/keys.ts';

/** `aibomgen keys init`: platform signing key, layout root key and the signed in-toto layout. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('manage the platform signing keys and the in-toto layout');
  keys
    .command('init')
    .description('create the platform key (ECDSA P-256), the layout root key and the signed layout when absent')
    .option('--data-dir <dir>', 'data directory (env AIBOMGEN_DATA_DIR)', process.env.AIBOMGEN_DATA_DIR ?? './data')
    .option('--force', 'replace existing keys (invalidates earlier signatures)', false)
    .option('--layout-expires-days <n>', 'layout validity in days', '365')
    .action(async (opts: { dataDir: string; force: boolean; layoutExpiresDays: string }) => {
      const days = Number(opts.layoutExpiresDays);
      if (!Number.isInteger(days) || days < 1) throw new Error(`--layout-expires-days must be a positive integer, got ${opts.layoutExpiresDays}`);
      const created = await initKeys(resolve(opts.dataDir), { force: opts.force, layoutExpiresDays: days });
      const dir = keysDir(resolve(opts.dataDir));
      process.stdout.write(created.length ? `created in ${dir}: ${created.join(', ')}\n` : `keys already present in ${dir}\n`);
    });
  return keys;
}
