import { Command } from 'commander';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/db/connect.ts';
import { collectGarbage } from '../../server/registry/gc.ts';
import { storeHolders } from '../../server/registry/store/in-use.ts';
import { Layout } from '../../server/registry/store/layout.ts';
import { CliError, usageError } from '../errors.ts';
import { humanBytes, out, printJson, table } from '../output.ts';

/**
 * `aibomgen gc`: garbage collection of the embedded registry store, offline. It runs against the data directory
 * with the server (and any worker on it) stopped rather than as an endpoint of the running server: a mark and
 * sweep racing a push can sweep a blob a manifest is about to reference (distribution's own collector asks for a
 * stopped or read-only registry for the same reason), and workers sharing the directory write blobs too, so no
 * lock inside one server process would cover them. Each process with the store open leaves a mark in it; gc
 * refuses while one is alive.
 */
export function gcCommand(): Command {
  return new Command('gc')
    .description('remove registry blobs no manifest references any more (embedded store; server stopped)')
    .option('--data-dir <dir>', 'data directory (env AIBOMGEN_DATA_DIR)', process.env.AIBOMGEN_DATA_DIR ?? './data')
    .option('--dry-run', 'list what would be removed and the bytes it takes; change nothing', false)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Deleting a model version (DELETE /v2/<repo>/manifests/<digest>) removes its manifest, referrers and tags at
once; the blobs they named stay until gc. The database (AIBOMGEN_DATABASE_URL, default <data-dir>/aibomgen.db)
says which manifests exist. In upstream mode the distribution registry collects its own garbage:
run "registry garbage-collect <config.yml>" there.

Examples:
  aibomgen gc --dry-run
  aibomgen gc --data-dir /var/lib/aibomgen
`,
    )
    .action(async (opts: { dataDir: string; dryRun: boolean; json?: boolean }) => {
      const config = loadConfig({ ...process.env, AIBOMGEN_DATA_DIR: opts.dataDir });
      if (config.registryStore !== 'embedded')
        throw usageError(
          'gc collects the embedded store only; in upstream mode run "registry garbage-collect" on the distribution registry',
        );
      const layout = new Layout(join(config.dataDir, 'registry'));
      const holders = await storeHolders(layout);
      if (holders.length)
        throw new CliError(
          `the registry under ${config.dataDir} is in use (process ${holders.join(', ')}): stop the server and workers first`,
        );
      const db = await openDatabase(config.databaseUrl);
      try {
        const r = await collectGarbage({ root: layout.root, db, dryRun: opts.dryRun });
        if (opts.json) return printJson(r);
        const verb = r.dryRun ? 'would remove' : 'removed';
        if (r.dryRun && r.blobs.length)
          out(
            table(
              ['BLOB', 'BYTES'],
              r.blobs.map((b) => [b.digest, String(b.size)]),
            ),
          );
        out(
          `${verb} ${r.blobs.length} blob(s), ${r.bytes} bytes (${humanBytes(r.bytes)}), and ${r.links.length} repository link(s); ` +
            `kept ${r.kept.blobs} blob(s), ${r.kept.bytes} bytes`,
        );
      } finally {
        await db.destroy();
      }
    });
}
