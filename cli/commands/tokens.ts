import { Command } from 'commander';
import type { CreatedToken, TokenInfo, TokenList } from '../../schema/tokens.ts';
import { tokenScopes } from '../../schema/tokens.ts';
import { usageError } from '../errors.ts';
import { out, printJson, table } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';

const clientOf = (cmd: Command): PlatformClient => new PlatformClient(resolvePlatform(cmd));

function scopeList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = list.filter((s) => !(tokenScopes as readonly string[]).includes(s));
  if (!list.length || unknown.length)
    throw usageError(
      `--scopes: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'empty'} (known: ${tokenScopes.join(', ')})`,
    );
  return list;
}

const state = (t: TokenInfo): string =>
  t.revoked_at
    ? 'revoked'
    : t.expires_at && Date.parse(t.expires_at) <= Date.now()
      ? 'expired'
      : t.expires_at
        ? `until ${t.expires_at.slice(0, 10)}`
        : 'active';

/** `aibomgen tokens create|ls|revoke`: managed API tokens for CLIs and CI (/developer/tokens). */
export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('create, list and revoke API tokens for CLIs and CI');
  tokens.addHelpText(
    'after',
    `
Examples:
  aibomgen tokens create ci --scopes registry:pull,registry:push --expires-in-days 90
  aibomgen tokens ls
  aibomgen tokens revoke 3f9c0a1b2c3d4e5f
`,
  );

  tokens
    .command('create')
    .description('create a token (printed once: only its hash is kept)')
    .argument('<name>', 'a label for the token ("ci", "laptop")')
    .option('--scopes <list>', `comma-separated: ${tokenScopes.join(', ')} (default: your own rights)`)
    .option('--expires-in-days <n>', 'days until it expires (default: never)')
    .option('--owner <owner>', 'whom the token acts as (administrators only)')
    .option('--json', 'print the created token record, token included, as JSON')
    .addHelpText(
      'after',
      `
Examples:
  aibomgen tokens create laptop
  aibomgen tokens create ci --scopes registry:pull,registry:push --expires-in-days 30
  aibomgen tokens create alice --owner alice --json | jq -r .token
`,
    )
    .action(
      async (
        name: string,
        opts: { scopes?: string; expiresInDays?: string; owner?: string; json?: boolean },
        cmd: Command,
      ) => {
        const days = opts.expiresInDays === undefined ? undefined : Number(opts.expiresInDays);
        if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650))
          throw usageError(`--expires-in-days must be an integer from 1 to 3650, got ${opts.expiresInDays}`);
        const scopes = scopeList(opts.scopes);
        const created = await clientOf(cmd).json<CreatedToken>('POST', '/developer/tokens', {
          name,
          ...(scopes ? { scopes } : {}),
          ...(days ? { expires_in_days: days } : {}),
          ...(opts.owner ? { owner: opts.owner } : {}),
        });
        if (opts.json) return printJson(created);
        // The token alone on stdout (scripts: TOKEN=$(aibomgen tokens create ci)); what it is goes to stderr.
        process.stderr.write(
          `token ${created.id} "${created.name}" for ${created.owner} (${created.scopes?.join(', ') ?? 'all rights'}` +
            `${created.expires_at ? `, expires ${created.expires_at}` : ''}); shown once:\n`,
        );
        out(created.token);
      },
    );

  tokens
    .command('ls')
    .description('list your tokens (administrators: everyone’s); never the tokens themselves')
    .option('--json', 'print {items} as JSON')
    .addHelpText('after', '\nExamples:\n  aibomgen tokens ls\n  aibomgen tokens ls --json | jq -r ".items[].id"\n')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const list = await clientOf(cmd).json<TokenList>('GET', '/developer/tokens');
      if (opts.json) return printJson(list);
      if (!list.items.length) return out('no tokens');
      out(
        table(
          ['ID', 'NAME', 'OWNER', 'SCOPES', 'STATE', 'LAST USED'],
          list.items.map((t) => [
            t.id,
            t.name,
            t.owner,
            t.scopes?.join(',') ?? 'all',
            state(t),
            t.last_used_at ?? 'never',
          ]),
        ),
      );
    });

  tokens
    .command('revoke')
    .description('revoke a token: it stops working at once')
    .argument('<id>', 'token id (aibomgen tokens ls)')
    .option('--json', 'print the revoked token record as JSON')
    .addHelpText('after', '\nExamples:\n  aibomgen tokens revoke 3f9c0a1b2c3d4e5f\n')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw usageError(`${JSON.stringify(id)} is not a token id`);
      const t = await clientOf(cmd).json<TokenInfo>('DELETE', `/developer/tokens/${id}`);
      if (opts.json) return printJson(t);
      out(`revoked ${t.id} "${t.name}" of ${t.owner}`);
    });

  return tokens;
}
