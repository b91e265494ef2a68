/**
 * `npm run demo`: the main job on the embedded default, end to end, in one process.
 * Starts the server (data in ./data, SQLite, embedded registry), writes the seed's sample inputs (tabular,
 * 13 features, an MLP), submits them over the REST API, prints live epoch progress from the SSE stream,
 * waits for publication, verifies the model with `aibomgen verify`, and prints what to try next.
 *
 * Isolation: jobs run in a container when a Docker API is reachable (AIBOMGEN_DOCKER_SOCKET, DOCKER_HOST, or a
 * podman CLI this script can start `podman system service` with); otherwise as a child process, said plainly.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { JobResponse } from '../schema/api.ts';
import { createApp } from '../server/app.ts';
import { ADMIN_TOKEN_FILE } from '../server/auth/bootstrap.ts';
import { compose, type Platform } from '../server/compose.ts';
import { KEY_FILES } from '../server/attest/keys.ts';
import { loadConfig } from '../server/config.ts';
import type { JobEvent } from '../server/contracts.ts';
import { startPodmanService, type PodmanService } from '../server/jobs/runners/podman-service.ts';
import { readSse } from './sse.ts';
import { mlpModelJson, tabularDefinition, writeTabularCsv } from '../trainer/samples/generate.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
const bold = paint(1);
const dim = paint(2);
const green = paint(32);
const red = paint(31);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const step = (n: number, s: string): void => say(`${bold(`[${n}/6]`)} ${s}`);

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolveRun({ code: code ?? 1, stdout, stderr }));
  });
}

async function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((r) => {
    const srv = createServer()
      .once('error', () => r(false))
      .listen(port, host, () => srv.close(() => r(true)));
  });
}

/** A Docker-compatible API for isolated jobs: configured, or podman's service started on a private socket. */
async function containerEngine(dataDir: string): Promise<{ socket?: string; podman?: PodmanService; note: string }> {
  const configured =
    process.env.AIBOMGEN_DOCKER_SOCKET ??
    (process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : undefined);
  if (configured) return { socket: configured, note: `container engine at ${configured}` };
  if (process.env.AIBOMGEN_RUNNER === 'process')
    return { note: 'process runner (AIBOMGEN_RUNNER=process): NOT container-isolated' };
  if (spawnSync('podman', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return {
      note: 'no container engine found (install podman for isolated jobs): the job runs as a child process, NOT container-isolated',
    };
  }
  try {
    const podman = await startPodmanService(join(dataDir, 'podman.sock'), 10_000);
    return {
      socket: podman.socketPath,
      podman,
      note: 'podman (Docker-compatible API): network none, read-only rootfs, no capabilities, non-root',
    };
  } catch (e) {
    return {
      note: `podman did not start its API service (${(e as Error).message.split('\n')[0]}): the job runs as a child process, NOT container-isolated`,
    };
  }
}

/**
 * The token the demo acts with when auth is on: the first start's administrator token (keysDir/admin.token), else
 * the first of AIBOMGEN_TOKENS, else (the file was removed) a one-day token of its own, made in process.
 */
async function demoToken(platform: Platform): Promise<string | undefined> {
  const { config } = platform;
  if (!platform.auth.enabled) return undefined;
  const file = join(config.keysDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const fixed = config.tokens?.split(',')[0]?.split(':').slice(1).join(':').trim();
  if (fixed) return fixed;
  const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
  return (await platform.auth.tokens.insert({ owner: 'demo', name: 'npm run demo', createdBy: 'platform', expiresAt }))
    .token;
}

async function followEvents(url: string, id: string, epochs: number, headers: Record<string, string>): Promise<void> {
  const res = await fetch(`${url}/developer/jobs/${id}/events`, { headers });
  if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
  for await (const m of readSse(res.body)) {
    const e = JSON.parse(m.data) as JobEvent;
    if (e.type === 'state')
      say(
        `      ${dim('state')} ${e.state === 'failed' ? red(e.state) : e.state === 'succeeded' ? green(e.state) : e.state}${e.reason ? ` — ${e.reason}` : ''}`,
      );
    if (e.type === 'epoch') {
      const l = e.logs;
      const f = (k: string) => (l[k] !== undefined ? `${k}=${l[k]!.toFixed(4)}` : '');
      say(
        `      epoch ${String(e.epoch).padStart(2)}/${epochs}  ${[f('loss'), f('acc'), f('val_loss'), f('val_acc')].filter(Boolean).join('  ')}`,
      );
    }
  }
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const host = process.env.HOST ?? '127.0.0.1';
  const wanted = Number(process.env.PORT ?? 8080);
  const port = (await portFree(wanted, host)) ? wanted : 0;
  const dataDir = resolve(process.env.AIBOMGEN_DATA_DIR ?? join(root, 'data'));
  mkdirSync(dataDir, { recursive: true });
  const epochs = Number(process.env.DEMO_EPOCHS ?? 10);

  step(
    1,
    'Starting the platform (embedded: SQLite + content-addressed registry in ' +
      (relative(process.cwd(), dataDir) || '.') +
      ')',
  );
  const engine = await containerEngine(dataDir);
  const config = loadConfig(process.env, {
    dataDir,
    host,
    port,
    ...(engine.socket
      ? { runner: 'docker', dockerSocket: engine.socket }
      : { runner: process.env.AIBOMGEN_RUNNER === 'docker' ? 'docker' : 'process' }),
  });
  const pino = (await import('pino')).default;
  const platform = await compose(config, pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
  const app = createApp(platform);
  const server = await new Promise<ReturnType<typeof serve>>((r) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      config.port = info.port;
      r(s);
    });
  });
  const url = `http://${host}:${config.port}`;
  say(`      server ${url}${port === 0 ? dim(` (port ${wanted} was busy)`) : ''}`);
  say(`      jobs: ${engine.note}`);
  const token = await demoToken(platform);
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  say(`      auth: ${token ? 'on (acting with an API token)' : dim('off (AIBOMGEN_AUTH=off)')}`);

  let code = 1;
  try {
    step(2, 'Writing the sample inputs: tabular dataset (1000 rows, 13 features), dataset definition, MLP model');
    const inputs = join(dataDir, 'demo-inputs');
    mkdirSync(inputs, { recursive: true });
    await writeTabularCsv(join(inputs, 'dataset.csv'), 1000, 7);
    await writeFile(join(inputs, 'dataset_definition.json'), JSON.stringify(tabularDefinition(), null, 2));
    await writeFile(join(inputs, 'model.json'), JSON.stringify(mlpModelJson(), null, 2));
    say(`      ${relative(process.cwd(), inputs)}/{dataset.csv, dataset_definition.json, model.json}`);

    step(3, 'Submitting the training job (POST /developer/submit_job_by_model_and_data)');
    const form = new FormData();
    form.set('model', new Blob([await readFile(join(inputs, 'model.json'))]), 'model.json');
    form.set('dataset', new Blob([await readFile(join(inputs, 'dataset.csv'))]), 'dataset.csv');
    form.set(
      'dataset_definition',
      new Blob([await readFile(join(inputs, 'dataset_definition.json'))]),
      'dataset_definition.json',
    );
    const version = `1.0.${Math.floor(Date.now() / 1000)}`;
    for (const [k, v] of Object.entries({
      framework: 'TensorFlow 2.16.1',
      epochs: String(epochs),
      batch_size: '32',
      validation_split: '0.2',
      seed: '42',
      model_name: 'demo-classifier',
      model_version: version,
      model_description: 'Binary classifier on the seed-style 13-feature tabular sample',
      author: 'AIBoMGen demo',
      model_type: 'classification',
      intended_use: 'demonstration of trusted training',
      license_name: 'Apache-2.0',
    }))
      form.set(k, v);
    const res = await fetch(`${url}/developer/submit_job_by_model_and_data`, {
      method: 'POST',
      body: form,
      headers: auth,
    });
    const job = (await res.json()) as JobResponse & { detail?: string };
    if (res.status !== 202) throw new Error(`submit failed (${res.status}): ${job.detail}`);
    say(`      job ${bold(job.job_id)} ${job.status}`);

    step(4, 'Training (live progress from GET /developer/jobs/{id}/events)');
    await followEvents(url, job.job_id, epochs, auth);
    const done = (await (
      await fetch(`${url}/developer/job_status/${job.job_id}`, { headers: auth })
    ).json()) as JobResponse;
    if (done.status !== 'succeeded' || !done.publication)
      throw new Error(`the job ${done.status}: ${done.reason ?? 'no reason given'}`);
    const ref = done.publication.ref;

    step(5, `Verifying ${ref} with aibomgen verify`);
    // Async: this process serves the API the CLI calls (spawnSync would block the server and deadlock).
    const verify = await run(process.execPath, [join(root, 'cli', 'bin.js'), '--server', url, 'verify', ref], {
      ...process.env,
      ...(token ? { AIBOMGEN_TOKEN: token } : {}),
    });
    process.stdout.write(verify.stdout.replace(/^(?=.)/gm, '      '));
    if (verify.code !== 0) throw new Error(`aibomgen verify exited ${verify.code}: ${verify.stderr.trim()}`);

    step(6, 'Published');
    const pub = join(config.keysDir, KEY_FILES.platformPub);
    const rel = (p: string) => relative(process.cwd(), p) || p;
    say(`      model      ${bold(ref)}`);
    say(`      digest     ${done.publication.digest}`);
    say(`      attached   ${done.publication.attestations.map((a) => a.kind).join(', ')}`);
    say();
    say(
      `  Serve it again with ${bold(`PORT=${config.port} npm start`)}${process.env.AIBOMGEN_DATA_DIR ? ` (AIBOMGEN_DATA_DIR=${process.env.AIBOMGEN_DATA_DIR})` : ''}, then:`,
    );
    if (token && existsSync(join(config.keysDir, ADMIN_TOKEN_FILE)))
      say(
        `    TOKEN=$(cat ${rel(join(config.keysDir, ADMIN_TOKEN_FILE))})   ${dim('# the administrator token: curl -H "authorization: Bearer $TOKEN"')}`,
      );
    say(`    oras pull --plain-http -o ./pulled ${ref}`);
    say(`    oras discover --plain-http ${ref}`);
    say(
      `    cosign verify-attestation --key ${rel(pub)} --type cyclonedx --insecure-ignore-tlog --allow-insecure-registry --new-bundle-format ${ref}`,
    );
    say(`    node cli/bin.js --server ${url} verify ${ref}`);
    say(`    dashboard: ${url}/   GraphQL: ${url}/graphql   API docs: ${url}/docs`);
    say();
    say(green(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`));
    // The last line is machine-readable, for scripts and the README test.
    say(`MODEL_REF=${ref}`);
    code = 0;
  } catch (e) {
    process.stderr.write(`${red('demo failed:')} ${(e as Error).message}\n`);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await platform.close();
    await engine.podman?.stop();
  }
  return code;
}

process.exitCode = await main();
