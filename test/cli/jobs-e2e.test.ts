/**
 * The CLI end to end against a real server with real jobs (process runner, 1–2 epochs): submit with live
 * progress, --detach, jobs ls/show/logs/cancel, models ls/show and lineage over GraphQL, bom show and pull of
 * the trained model, and /metrics counting exactly this test's jobs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobListResponse, JobResponse } from '../../schema/api.ts';
import type { JobEvent } from '../../server/contracts.ts';
import { submitFlags, writeTabularInputs } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { parsePrometheusText, sampleValue } from '../ops/prom-text.ts';
import { aibomgen, cliHome, deadUrl, json } from './run.ts';

let srv: TestServer;
let env: NodeJS.ProcessEnv;
let home: string;
let inputs: string[];
const run = (...args: string[]) => aibomgen(['--server', srv.url, ...args], { env });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

before(async () => {
  srv = await startTestServer({ runner: 'process' });
  ({ env, home } = cliHome());
  inputs = submitFlags(await writeTabularInputs(mkdtempSync(join(tmpdir(), 'aibomgen-cli-inputs-')), 200));
});
after(async () => {
  await srv.close();
});

let iris: JobResponse;

test('submit follows the job live (epochs on stderr) and prints only the model reference on stdout; exit 0', async () => {
  const r = await run(
    'submit',
    ...inputs,
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--name',
    'cli-iris',
    '--model-version',
    '1.0.0',
    '--author',
    'Ada',
    '--license',
    'MIT',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${srv.hostPort}/models/cli-iris:1.0.0\n`);
  assert.match(r.stderr, /^job [0-9a-f-]{36} queued$/m);
  assert.match(r.stderr, /epoch 1\/2 .*loss=/);
  assert.match(r.stderr, /epoch 2\/2 .*loss=/);
  assert.match(r.stderr, /state succeeded/);
  assert.doesNotMatch(r.stderr, /\x1b\[|\r/, 'no ANSI or redrawn lines when stderr is not a terminal');
  const jobs = json<JobListResponse>(await run('jobs', 'ls', '--json'));
  assert.equal(jobs.items.length, 1);
  iris = jobs.items[0]!;
  assert.equal(iris.status, 'succeeded');
});

test('submit --detach --json answers the accepted job at once; jobs logs -f --json streams its events to the end', async () => {
  const d = await run(
    'submit',
    ...inputs,
    '--epochs',
    '1',
    '--name',
    'cli-second',
    '--model-version',
    '2.0.0',
    '--detach',
    '--json',
  );
  assert.equal(d.status, 0, d.stderr);
  const accepted = json<JobResponse>(d);
  assert.match(accepted.job_id, UUID);
  assert.equal(accepted.id, accepted.job_id);
  assert.equal(accepted.status, 'queued');
  const f = await run('jobs', 'logs', '-f', accepted.job_id, '--json');
  assert.equal(f.status, 0, f.stderr);
  const events = f.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JobEvent);
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => events[0]!.seq + i),
    'each event once, in order',
  );
  assert.ok(events.some((e) => e.type === 'epoch'));
  const last = events.at(-1)!;
  assert.equal(last.type === 'state' && last.state, 'succeeded');
  // Human form of the same stream, and the plain logs.
  const h = await run('jobs', 'logs', '-f', accepted.job_id);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /epoch 1 .*loss=/);
  const logs = await run('jobs', 'logs', accepted.job_id);
  assert.equal(logs.status, 0);
  assert.ok(logs.stdout.length > 0);
  assert.equal(
    json<{ job_id: string; logs: string }>(await run('jobs', 'logs', accepted.job_id, '--json')).logs,
    logs.stdout,
  );
});

test('submit of a job that fails exits 1 with the reason; --json still prints the final JobResponse', async () => {
  const model = join(process.cwd(), 'trainer/samples/keras/unsupported.keras'); // an LSTM the trainer refuses
  const r = await run('submit', '--model', model, ...inputs.slice(2), '--epochs', '1', '--name', 'cli-fails', '--json');
  assert.equal(r.status, 1, r.stderr);
  const final = json<JobResponse>(r);
  assert.equal(final.status, 'failed');
  assert.match(final.reason ?? '', /unsupported/);
  assert.equal(final.publication, undefined);
  assert.match(
    r.stderr,
    new RegExp(`^aibomgen: job ${final.job_id} failed: .*unsupported.* \\(aibomgen jobs logs ${final.job_id}\\)$`, 'm'),
  );
});

test('jobs ls and show: tables and --json shapes', async () => {
  const ls = await run('jobs', 'ls');
  assert.equal(ls.status, 0);
  assert.match(ls.stdout, /^ID\s+STATE\s+OWNER\s+CREATED\s+MODEL$/m);
  assert.match(ls.stdout, new RegExp(`^${iris.id}\\s+succeeded\\s+anonymous`, 'm'));
  const page = json<JobListResponse>(await run('jobs', 'ls', '--limit', '1', '--json'));
  assert.equal(page.items.length, 1);
  assert.ok(page.next, 'a next cursor when more jobs exist');
  const rest = json<JobListResponse>(await run('jobs', 'ls', '--after', page.next!, '--json'));
  assert.equal(rest.items.length, 2);
  assert.notEqual(rest.items[0]!.id, page.items[0]!.id);
  assert.deepEqual(
    json<JobListResponse>(await run('jobs', 'ls', '--state', 'failed', '--json')).items.map(
      (j) => j.metadata.model_name,
    ),
    ['cli-fails'],
  );

  const show = await run('jobs', 'show', iris.id);
  assert.equal(show.status, 0);
  assert.match(show.stdout, /^state\s+succeeded$/m);
  assert.match(show.stdout, /^runner\s+process \(NOT isolated\)/m);
  assert.match(
    show.stdout,
    new RegExp(`^published\\s+${srv.hostPort.replace(/\./g, '\\.')}/models/cli-iris:1\\.0\\.0$`, 'm'),
  );
  const sj = json<JobResponse>(await run('jobs', 'show', iris.id, '--json'));
  assert.equal(sj.job_id, iris.id);
  assert.equal(sj.publication?.repository, 'models/cli-iris');
  assert.match(sj.publication?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
});

test('jobs cancel: a running job ends cancelled; following it then exits 1', async () => {
  const d = await run('submit', ...inputs, '--epochs', '500', '--name', 'cli-cancel', '--detach');
  assert.equal(d.status, 0, d.stderr);
  const id = d.stdout.trim();
  assert.match(id, UUID);
  const c = await run('jobs', 'cancel', id, '--json');
  assert.equal(c.status, 0, c.stderr);
  const after = json<JobResponse>(c);
  assert.equal(after.job_id, id);
  const f = await run('jobs', 'logs', '-f', id);
  assert.equal(f.status, 1);
  assert.match(f.stderr, new RegExp(`^aibomgen: job ${id} cancelled`, 'm'));
  assert.equal(json<JobResponse>(await run('jobs', 'show', id, '--json')).status, 'cancelled');
});

test('non-zero exits: unknown job 3, bad flags 2, input the server rejects 2, unreachable server 1', async () => {
  for (const args of [
    ['jobs', 'show', 'no-such-job'],
    ['jobs', 'cancel', 'no-such-job'],
    ['jobs', 'logs', 'no-such-job'],
    ['jobs', 'logs', '-f', 'no-such-job'],
  ]) {
    const r = await run(...args);
    assert.equal(r.status, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^aibomgen: .*no-such-job.*\n$/, 'one sentence naming the job');
  }
  const badState = await run('jobs', 'ls', '--state', 'sleeping');
  assert.equal(badState.status, 2);
  assert.match(badState.stderr, /Allowed choices are queued, running/);
  const badEpochs = await run('submit', ...inputs, '--epochs', '0');
  assert.equal(badEpochs.status, 2);
  assert.match(badEpochs.stderr, /^aibomgen: invalid training parameters: epochs: /);
  const missingFlag = await run('submit', '--model', 'x');
  assert.equal(missingFlag.status, 2);
  assert.match(missingFlag.stderr, /missing --dataset, --definition \(or name a trainer image with --image\)/);
  const noFile = await run('submit', ...inputs.slice(0, 2), '--dataset', join(home, 'missing.csv'), ...inputs.slice(4));
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /--dataset .*missing\.csv is not a readable file/);
  // The server judges the content: a definition that is not JSON is a 400 naming the field.
  const junk = join(home, 'junk.json');
  writeFileSync(junk, 'not json {');
  const rejected = await run('submit', ...inputs.slice(0, 4), '--definition', junk);
  assert.equal(rejected.status, 2, rejected.stderr);
  assert.match(rejected.stderr, /dataset_definition/);
  const dead = await deadUrl();
  const down = await aibomgen(['--server', dead, 'jobs', 'ls'], { env });
  assert.equal(down.status, 1);
  assert.equal(
    down.stderr,
    `aibomgen: cannot reach the platform at ${dead} (ECONNREFUSED); is the server running? (aibomgen server, or --server <url>)\n`,
  );
});

test('models ls / show over GraphQL list the trained models; unknown model 3', async () => {
  const ls = await run('models', 'ls');
  assert.equal(ls.status, 0, ls.stderr);
  assert.match(ls.stdout, /^NAME\s+LATEST\s+VERSIONS/m);
  assert.match(ls.stdout, /^models\/cli-iris\s+1\.0\.0\s+1\s+sha256:/m);
  const conn = json<{
    totalCount: number;
    edges: { node: { name: string; latest: { ref: string; digest: string } } }[];
  }>(await run('models', 'ls', '--json'));
  const names = conn.edges.map((e) => e.node.name).sort();
  assert.ok(names.includes('models/cli-iris') && names.includes('models/cli-second'), names.join(', '));
  assert.equal(conn.edges.find((e) => e.node.name === 'models/cli-iris')!.node.latest.digest, iris.publication!.digest);
  const show = await run('models', 'show', 'models/cli-iris');
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /^models\/cli-iris/);
  assert.match(show.stdout, /^1\.0\.0\s+sha256:/m);
  const m = json<{ name: string; versions: { tag: string; digest: string }[] }>(
    await run('models', 'show', 'models/cli-iris', '--json'),
  );
  assert.deepEqual(
    m.versions.map((v) => v.tag),
    ['1.0.0'],
  );
  const none = await run('models', 'show', 'models/nope');
  assert.equal(none.status, 3);
  assert.match(none.stderr, /^aibomgen: model models\/nope not found\n$/);
  assert.equal((await run('models', 'ls', '--first', '0')).status, 2);
});

test('lineage draws the tree (datasets, job) and --json is the LineageGraph; unknown ref 3', async () => {
  const t = await run('lineage', 'models/cli-iris:1.0.0', '--direction', 'up');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /^upstream \(made from\)$/m);
  assert.match(t.stdout, /^model models\/cli-iris/m);
  assert.match(t.stdout, /[├└]── trained on dataset /);
  assert.doesNotMatch(t.stdout, /downstream/);
  const g = json<{ nodes: { id: string; kind: string }[]; edges: { from: string; to: string; kind: string }[] }>(
    await run('lineage', `${srv.hostPort}/models/cli-iris:1.0.0`, '--json'),
  );
  assert.ok(g.nodes.some((n) => n.kind === 'DATASET'));
  assert.ok(g.nodes.some((n) => n.id === `model:models/cli-iris@${iris.publication!.digest}`));
  assert.ok(g.edges.some((e) => e.kind === 'TRAINED_ON'));
  const none = await run('lineage', 'models/nope:1.0.0');
  assert.equal(none.status, 3, none.stderr);
  assert.equal((await run('lineage', 'models/cli-iris:1.0.0', '--depth', '0')).status, 2);
  assert.equal((await run('lineage', 'models/cli-iris:1.0.0', '--direction', 'sideways')).status, 2);
});

test('bom show and pull work on the trained model (full host:port reference)', async () => {
  const ref = iris.publication!.ref;
  const b = await run('bom', 'show', ref, '--json');
  assert.equal(b.status, 0, b.stderr);
  const s = json<{
    summary: {
      model: { name: string; author: string };
      runner: { isolated: boolean; kind: string };
      metrics: Record<string, string>;
      datasets: { name: string }[];
    };
  }>(b).summary;
  assert.equal(s.model.name, 'cli-iris');
  assert.equal(s.model.author, 'Ada');
  assert.equal(s.runner.isolated, false);
  assert.equal(s.runner.kind, 'process');
  assert.ok(s.datasets.length >= 1);
  const dir = join(home, 'iris');
  const p = await run('pull', ref, '-o', dir, '--json');
  assert.equal(p.status, 0, p.stderr);
  const files = json<{ files: { path: string }[] }>(p).files.map((f) => f.path);
  assert.ok(files.includes('model/model.json'), files.join(', '));
  assert.equal(
    (JSON.parse(readFileSync(join(dir, 'model/model.json'), 'utf8')) as { format?: string; modelTopology?: unknown })
      .modelTopology !== undefined,
    true,
  );
});

test("/metrics counts exactly this test's jobs", async () => {
  const m = parsePrometheusText(await (await fetch(`${srv.url}/metrics`)).text());
  assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'succeeded' }), 2);
  assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'cancelled' }), 1);
  assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'failed' }), 1);
  assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'failed' }), 1);
  assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'queued' }), 0);
  assert.equal(sampleValue(m, 'aibomgen_job_queue_depth'), 0);
  assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'succeeded' }), 2);
  assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'cancelled' }), 1);
  assert.ok(
    (sampleValue(m, 'aibomgen_http_requests_total', { method: 'POST', route: 'developer_submit', status: '202' }) ??
      0) >= 3,
  );
  assert.ok(
    (sampleValue(m, 'aibomgen_verifications_total', { result: 'verified' }) ?? 0) >= 1,
    'pull verified through the platform',
  );
});
