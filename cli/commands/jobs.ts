import { Command, Option } from 'commander';
import type { JobListResponse, JobResponse } from '../../schema/api.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { colorState, formatEvent, formatJob, jobStates } from '../job-format.ts';
import { followJobEvents } from '../job-events.ts';
import { colors, out, printJson, shortDigest, table } from '../output.ts';
import { apiError, PlatformClient, resolvePlatform } from '../platform.ts';

function jobPath(id: string, suffix = ''): string {
  if (!id.trim()) throw usageError('a job id is required');
  return `/developer/${suffix === 'status' ? `job_status/${encodeURIComponent(id)}` : `jobs/${encodeURIComponent(id)}${suffix}`}`;
}

function clientOf(cmd: Command): PlatformClient {
  return new PlatformClient(resolvePlatform(cmd));
}

/** `aibomgen jobs ls|show|logs|cancel`. */
export function jobsCommand(): Command {
  const jobs = new Command('jobs').description('list, inspect, follow and cancel training jobs');
  jobs.addHelpText(
    'after',
    `
Examples:
  aibomgen jobs ls --state running
  aibomgen jobs show 0193a0c4-...
  aibomgen jobs logs -f 0193a0c4-...
  aibomgen jobs cancel 0193a0c4-...
`,
  );

  jobs
    .command('ls')
    .description('list jobs, newest first')
    .option('--owner <owner>', 'only jobs of this owner')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(jobStates as string[]))
    .option('--limit <n>', 'at most n jobs (1..200)', '50')
    .option('--after <cursor>', 'continue after this cursor (the "next" of a previous page)')
    .option('--json', 'print the JobListResponse {items, next} as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  aibomgen jobs ls\n  aibomgen jobs ls --owner alice --state failed --limit 10\n  aibomgen jobs ls --json | jq -r '.items[].id'\n",
    )
    .action(
      async (opts: { owner?: string; state?: string; limit: string; after?: string; json?: boolean }, cmd: Command) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200)
          throw usageError(`--limit must be an integer from 1 to 200, got ${opts.limit}`);
        const q = new URLSearchParams({ limit: String(limit) });
        if (opts.owner) q.set('owner', opts.owner);
        if (opts.state) q.set('state', opts.state);
        if (opts.after) q.set('after', opts.after);
        const list = await clientOf(cmd).json<JobListResponse>('GET', `/developer/jobs?${q}`);
        if (opts.json) return printJson(list);
        const c = colors();
        if (list.items.length === 0) return out('no jobs');
        out(
          table(
            ['ID', 'STATE', 'OWNER', 'CREATED', 'MODEL'],
            list.items.map((j) => [
              j.id,
              colorState(j.state, c),
              j.owner,
              j.createdAt,
              j.publication?.ref ?? j.metadata?.model_name ?? '',
            ]),
          ),
        );
        if (list.next) process.stderr.write(`more: aibomgen jobs ls --after ${list.next}\n`);
      },
    );

  jobs
    .command('show')
    .description('show one job: state, runner, params, inputs, metrics and where it was published')
    .argument('<id>', 'job id')
    .option('--json', 'print the JobResponse as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  aibomgen jobs show 0193a0c4-...\n  aibomgen jobs show 0193a0c4-... --json | jq -r .publication.ref\n',
    )
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const job = await clientOf(cmd).json<JobResponse>('GET', jobPath(id, 'status'));
      if (opts.json) printJson(job);
      else out(formatJob(job, colors()));
    });

  jobs
    .command('logs')
    .description("print a job's trainer output; with -f follow it live until the job ends")
    .argument('<id>', 'job id')
    .option('-f, --follow', 'stream log lines and progress until the job reaches a final state')
    .option('--json', 'one JobEvent JSON object per line (with -f), or {job_id, logs}')
    .addHelpText(
      'after',
      '\nExit status with -f: 0 when the job succeeded, 1 when it failed or was cancelled.\n\nExamples:\n  aibomgen jobs logs 0193a0c4-...\n  aibomgen jobs logs -f 0193a0c4-...\n',
    )
    .action(async (id: string, opts: { follow?: boolean; json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      if (!opts.follow) {
        const res = await client.fetch(jobPath(id, '/logs'), { headers: { accept: 'text/plain' } });
        if (!res.ok) throw await apiError(res, `logs of job ${id}`);
        const text = await res.text();
        if (opts.json) printJson({ job_id: id, logs: text });
        else process.stdout.write(text);
        return;
      }
      const c = colors();
      const end = await followJobEvents(client, id, (e) => {
        if (opts.json) return process.stdout.write(`${JSON.stringify(e)}\n`);
        const line = formatEvent(e, c);
        if (line !== undefined) out(line);
      });
      if (end.state !== 'succeeded')
        throw new CliError(`job ${id} ${end.state}${end.reason ? `: ${end.reason}` : ''}`, ExitCode.failure);
    });

  jobs
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'job id')
    .option('--json', 'print the JobResponse after cancelling')
    .addHelpText('after', '\nExample:\n  aibomgen jobs cancel 0193a0c4-...\n')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const job = await clientOf(cmd).json<JobResponse>('POST', jobPath(id, '/cancel'));
      if (opts.json) printJson(job);
      else out(`job ${job.id} ${job.state}${job.publication ? ` (${shortDigest(job.publication.digest)})` : ''}`);
    });
  return jobs;
}
