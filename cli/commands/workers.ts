import { Command } from 'commander';
import type { LayoutChange, WorkerKeyList } from '../../schema/worker-keys.ts';
import { err, out, printJson, table } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';

const clientOf = (cmd: Command): PlatformClient => new PlatformClient(resolvePlatform(cmd));

function said(change: LayoutChange, verb: string): void {
  out(`${verb} key ${change.key.keyId.slice(0, 16)} of worker ${change.key.workerId}`);
  err(
    change.layout === 'signed'
      ? `layouts re-signed (version ${change.version}): the change is in force`
      : 'this server holds no layout key: sign the draft offline and upload it —\n' +
          '  aibomgen keys layout-draft > draft.json\n' +
          '  aibomgen keys sign-layout draft.json --root-key root.key > layouts.json   (on the machine holding root.key)\n' +
          '  aibomgen keys upload-layout layouts.json',
  );
}

/** `aibomgen workers keys|approve|revoke`: the workers' own signing keys (/developer/admin/worker-keys). */
export function workersCommand(): Command {
  const workers = new Command('workers').description(
    "approve or revoke the workers' own signing keys (administrators)",
  );
  workers.addHelpText(
    'after',
    `
A worker (aibomgen worker) makes its own signing key on first start and enrolls it; it takes no job until an
administrator approves the key and the layouts in force list it. Revoking re-signs the layouts without it: the
worker takes no more jobs, and what it signed before no longer verifies.

Examples:
  aibomgen workers keys
  aibomgen workers approve gpu-1
  aibomgen workers revoke 3f9c0a1b2c3d
`,
  );
  workers
    .command('keys')
    .alias('ls')
    .description('list the enrolled worker keys and their state')
    .option('--json', 'print the keys as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { keys } = await clientOf(cmd).json<WorkerKeyList>('GET', '/developer/admin/worker-keys');
      if (opts.json) return printJson(keys);
      out(
        table(
          ['KEY ID', 'WORKER', 'STATE', 'IN LAYOUT', 'ENROLLED', 'DECIDED BY'],
          keys.map((k) => [
            k.keyId.slice(0, 16),
            k.workerId,
            k.state,
            k.inLayout ? 'yes' : 'no',
            k.enrolledAt.slice(0, 19),
            k.decidedBy ?? '',
          ]),
        ),
      );
    });
  for (const [action, verb, what] of [
    ['approve', 'approved', "approve a worker's key: it may sign jobs once the layouts list it"],
    ['revoke', 'revoked', "revoke a worker's key: it takes no more jobs, and what it signed stops verifying"],
  ] as const)
    workers
      .command(action)
      .description(what)
      .argument('<key-or-worker>', 'a key id (or a unique prefix of one), or a worker id with one live key')
      .option('--json', 'print the change as JSON')
      .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
        const change = await clientOf(cmd).json<LayoutChange>(
          'POST',
          `/developer/admin/worker-keys/${encodeURIComponent(ref)}/${action}`,
        );
        if (opts.json) return printJson(change);
        said(change, verb);
      });
  return workers;
}
