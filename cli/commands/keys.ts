import { Command } from 'commander';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { initKeys, keysDir } from '../../server/attest/keys.ts';
import { signLayout } from '../../server/attest/layout.ts';
import type { Layout } from '../../server/attest/layout.ts';
import type { LayoutDraft } from '../../server/attest/worker-keys.ts';
import type { WorkerKeyList } from '../../schema/worker-keys.ts';
import { usageError } from '../errors.ts';
import { err, out, printJson } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';

const LAYOUT_NAMES = ['root', 'train-platform', 'train-image'] as const;

function readJson(flag: string, path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw usageError(`${flag} ${path}: ${(e as Error).message}`);
  }
}

/** A draft as `layout-draft` prints it: the unsigned body of each layout. */
function asDraft(v: unknown, path: string): LayoutDraft {
  const o = v as Partial<Record<(typeof LAYOUT_NAMES)[number], { _type?: string }>>;
  const missing = LAYOUT_NAMES.filter((n) => o?.[n]?._type !== 'layout');
  if (missing.length) throw usageError(`${path}: not a layout draft (missing or not a layout: ${missing.join(', ')})`);
  return o as LayoutDraft;
}

/**
 * `keys layout-draft | sign-layout | upload-layout`: the layout key may live offline. The server gives the
 * unsigned layouts that the approved worker keys call for; the machine holding root.key signs them (no network);
 * the signed layouts go back to the server, which checks them against root.pub and the draft before using them.
 */
function offlineLayoutCommands(keys: Command): void {
  keys
    .command('layout-draft')
    .description('print the unsigned layouts the approved worker keys call for (to sign offline)')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = new PlatformClient(resolvePlatform(cmd));
      const draft = await client.json<LayoutDraft>('GET', '/developer/admin/layout/draft');
      // What signing it would change, by worker: the person holding the layout key checks this before signing.
      const [current, { keys }] = await Promise.all([
        client.json<Layout>('GET', '/verifier/layouts/root.layout'),
        client.json<WorkerKeyList>('GET', '/developer/admin/worker-keys'),
      ]);
      const now = new Set(Object.keys(current.signed.keys));
      const next = new Set(Object.keys(draft.root.keys));
      const who = (id: string) => keys.find((k) => k.keyId === id)?.workerId ?? 'the platform key';
      for (const id of next) if (!now.has(id)) err(`adds    ${id.slice(0, 16)}  (${who(id)})`);
      for (const id of now) if (!next.has(id)) err(`removes ${id.slice(0, 16)}  (${who(id)})`);
      printJson(draft);
    });
  keys
    .command('sign-layout')
    .description('sign a layout draft with the layout (root) key; runs offline, prints the signed layouts')
    .argument('<draft>', 'the draft file (aibomgen keys layout-draft > draft.json)')
    .requiredOption('--root-key <file>', 'the layout key (PEM, PKCS#8), e.g. a copy of <keys dir>/root.key')
    .action((draftPath: string, opts: { rootKey: string }) => {
      const draft = asDraft(readJson('<draft>', draftPath), draftPath);
      let rootKey: ReturnType<typeof createPrivateKey>;
      try {
        rootKey = createPrivateKey(readFileSync(opts.rootKey));
      } catch (e) {
        throw usageError(`--root-key ${opts.rootKey}: ${(e as Error).message}`);
      }
      // The keys being vouched for, on stderr: compare them with `aibomgen workers keys` before using the output.
      for (const id of Object.keys(draft.root.keys)) err(`signs functionary ${id}`);
      printJson(Object.fromEntries(LAYOUT_NAMES.map((n) => [n, signLayout(rootKey, draft[n])])));
    });
  keys
    .command('upload-layout')
    .description('put layouts signed offline in force (the server checks them against root.pub and the draft)')
    .argument('<layouts>', 'the signed layouts (aibomgen keys sign-layout … > layouts.json)')
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      const body = readJson('<layouts>', path);
      const r = await new PlatformClient(resolvePlatform(cmd)).json<{ version: number }>(
        'PUT',
        '/developer/admin/layout',
        body,
      );
      out(`layouts version ${r.version} in force`);
    });
}

/** `aibomgen keys init`: platform signing key, layout root key and the signed in-toto layout. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('manage the platform signing keys and the in-toto layout');
  keys.addHelpText(
    'after',
    [
      '',
      'Examples:',
      '  aibomgen keys init --data-dir ./data',
      '  aibomgen keys layout-draft > draft.json && aibomgen keys sign-layout draft.json --root-key root.key > layouts.json',
      '  aibomgen keys upload-layout layouts.json',
      '',
    ].join('\n'),
  );
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
  offlineLayoutCommands(keys);
  return keys;
}
