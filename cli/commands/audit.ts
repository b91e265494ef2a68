import { Command } from 'commander';
import { usageError } from '../errors.ts';
import { colors, err, out, printJson, table } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  status: number;
  result: 'ok' | 'refused' | 'error';
  requestId: string | null;
  detail: string | null;
}

const QUERY = `query Audit($limit: Int, $after: String, $actor: String, $action: String) {
  auditLog(limit: $limit, after: $after, actor: $actor, action: $action) {
    id at actor action target status result requestId detail
  }
}`;

/** `aibomgen audit`: the platform's audit log through GraphQL (`auditLog`; administrators only). */
export function auditCommand(): Command {
  return new Command('audit')
    .description('show the audit log: every mutating call and every refusal, newest first (administrators only)')
    .option('--limit <n>', 'entries per page (1..500)', '50')
    .option('--after <id>', 'continue after this entry id (the last one of the previous page)')
    .option('--actor <owner>', 'only this actor (an owner, anonymous or platform)')
    .option('--action <text>', 'only actions containing this text (graphql, /v2/, submit_job, ...)')
    .option('--json', 'print the entries as JSON')
    .addHelpText(
      'after',
      `
Examples:
  aibomgen audit
  aibomgen audit --actor bob --action /v2/
  aibomgen audit --json | jq '.[] | select(.result == "refused")'
`,
    )
    .action(
      async (
        opts: { limit: string; after?: string; actor?: string; action?: string; json?: boolean },
        cmd: Command,
      ) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw usageError(`--limit must be an integer from 1 to 500, got ${opts.limit}`);
        const client = new PlatformClient(resolvePlatform(cmd));
        const { auditLog } = await client.graphql<{ auditLog: AuditEntry[] }>(QUERY, {
          limit,
          after: opts.after ?? null,
          actor: opts.actor ?? null,
          action: opts.action ?? null,
        });
        if (opts.json) return printJson(auditLog);
        if (!auditLog.length) return out('no audit entries');
        const c = colors();
        out(
          table(
            ['AT', 'ACTOR', 'RESULT', 'ACTION', 'TARGET', 'DETAIL'],
            auditLog.map((e) => [
              e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
              e.actor,
              `${e.status} ${e.result}`,
              e.action,
              e.target ?? '',
              (e.detail ?? '').slice(0, 80),
            ]),
          ),
        );
        const last = auditLog.at(-1);
        if (auditLog.length === limit && last) err(c.dim(`more: aibomgen audit --after ${last.id}`));
      },
    );
}
