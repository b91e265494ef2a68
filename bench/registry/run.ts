/**
 * Registry bench (not a test): pushes then pulls one big random blob (default 1 GiB) through the /v2/
 * front in each store mode, directly against the upstream distribution registry (the baseline), and through
 * a bare node:http relay to it (relay.ts: what any Node process in the path costs), interleaved, `--runs`
 * times. Prints per run and as medians: MiB/s, the ratio front/direct (per run, so both sides of a ratio ran
 * under the same conditions: this machine's throughput drifts by ±20% between minutes), CPU seconds per
 * GiB moved of the client (this process), the server and the upstream distribution (utime+stime from
 * /proc: they show who a transfer waited on), and the server's peak RSS (VmHWM).
 *
 *   npx tsx bench/registry/run.ts [--size 1g] [--modes embedded,upstream,s3] [--runs 3] [--node-options "<flags>"]
 *
 * `--modes s3` (opt-in; part of --smoke) adds distribution on a real S3 server (SeaweedFS, .tools/bin/weed on
 * PATH) and the front over it with blob redirects on: pulls go to S3 by redirect, both direct and through
 * the front, and "server sent" (/proc wchar during the pull) shows the front stayed off the data path.
 *   npx tsx bench/registry/run.ts --smoke   # 2 MiB, one run: the whole path, no meaningful figures (test/bench)
 *
 * `--node-options` adds NODE_OPTIONS for the server only. `npm start` already runs node with
 * --max-semi-space-size=1: V8's default young generation (16 MiB semi-spaces) becomes resident under
 * streaming load and was most of the RSS growth a transfer caused (peak 181 vs 216 MB upstream at 512 MiB).
 *
 * The server runs as a child process with `npm start`'s command line (the bundle its prestart builds) so
 * its memory is its own. The client is the platform's own OCI client (server/oci/client.ts) with its
 * defaults: a push reads the file in bounded PATCH chunks (Node's fetch would buffer one streamed PUT
 * whole), a pull streams to disk; the client's digest checks are off so that only the transfer is timed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildServer } from '../../server/build.ts';
import { OciClient } from '../../server/oci/client.ts';
import { type Distribution, startDistribution } from '../../test/helpers/distribution.ts';
import { freePort } from '../../test/helpers/net.ts';
import { type S3Server, startS3 } from '../../test/helpers/s3.ts';
import { bytesWritten, cpuOf, fmtCpu, sampled, settle, vmHwmMb } from './proc.ts';

/**
 * `s3`: the front in upstream mode over distribution on a real S3 server (SeaweedFS, .tools/bin/weed), blob
 * redirects on (AIBOMGEN_REGISTRY_BLOB_REDIRECT, the default): a pull through the front is a 307 to a
 * pre-signed S3 URL that the client follows, as a pull straight from distribution is. Its baseline is
 * `direct-s3` (the same client straight to that distribution), not the filesystem distribution.
 */
type Mode = 'embedded' | 'upstream' | 's3';
const MODES: readonly Mode[] = ['embedded', 'upstream', 's3'];

const repoRoot = resolve(import.meta.dirname, '../..');

function args(): { size: number; modes: Mode[]; runs: number; nodeOptions?: string; smoke: boolean } {
  const a = process.argv.slice(2);
  const get = (k: string) => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  // --smoke only changes the defaults: every step still runs (build, distribution, relay, every store mode).
  const smoke = a.includes('--smoke');
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(get('size') ?? (smoke ? '2m' : '1g'));
  if (!m) throw new Error('--size like 1g, 256m, 4096k');
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return {
    size: Math.round(Number(m[1]) * unit),
    // s3 is opt-in outside --smoke: it adds a SeaweedFS and two more transfers each way to every run.
    modes: (get('modes') ?? (smoke ? MODES.join(',') : 'embedded,upstream')).split(',').map((m) => {
      if (!MODES.includes(m as Mode)) throw new Error(`--modes: unknown mode ${m} (one of ${MODES.join(', ')})`);
      return m as Mode;
    }),
    runs: Number(get('runs') ?? (smoke ? 1 : 3)),
    nodeOptions: get('node-options'),
    smoke,
  };
}

async function writeRandomFile(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 4 << 20));
    h.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= chunk.length;
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return `sha256:${h.digest('hex')}`;
}

/** The upload as the platform's client does it (POST, PATCH chunks, PUT), digest known: returns seconds. */
async function push(base: string, repo: string, file: string, digest: string, size: number): Promise<number> {
  const t0 = performance.now();
  await new OciClient(base).uploadFile(repo, file, digest, size);
  return (performance.now() - t0) / 1000;
}

/**
 * GET streamed to a file; returns seconds and checks the size. Every pull writes over the same file, in
 * place (no truncation): this VM (Firecracker, virtio-balloon free-page reporting) hands freed memory back
 * to its host, and a page touched for the first time since costs a fault in the host; a client truncating
 * or deleting its 1 GiB output each time allocated 1 GiB of fresh page cache per pull, and which side of a
 * ratio paid most of it depended on timing (client CPU 1.7–5.0 s/GiB for the same transfer).
 */
async function pull(base: string, repo: string, digest: string, out: string, size: number): Promise<number> {
  const flags = await stat(out).then(
    () => 'r+',
    () => 'w',
  );
  const t0 = performance.now();
  const { stream } = await new OciClient(base).openBlob(repo, digest, { verify: false });
  let got = 0;
  const counted = async function* (body: AsyncIterable<Buffer>) {
    for await (const chunk of body) {
      got += chunk.length;
      yield chunk;
    }
  };
  await pipeline(stream, counted, createWriteStream(out, { flags }));
  const secs = (performance.now() - t0) / 1000;
  if (got !== size) throw new Error(`pulled ${got} bytes, expected ${size}`);
  return secs;
}

/** `npm start`'s command line (after its `prestart` built the bundle), run directly so its pid is the server's. */
async function npmStartArgv(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const argv = pkg.scripts.start!.split(/\s+/);
  if (argv[0] !== 'node') throw new Error(`npm start runs ${argv[0]}, expected node`);
  return argv.slice(1);
}

/** Starts the server as `npm start` does, with the given store, and waits for /healthz. */
async function startServer(
  mode: Mode,
  upstreamUrl: string,
  dataDir: string,
  nodeOptions?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, await npmStartArgv(), {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AIBOMGEN_DATA_DIR: dataDir,
      AIBOMGEN_AUTH: 'off', // the data path is measured, against distribution without auth
      AIBOMGEN_REGISTRY_STORE: mode === 's3' ? 'upstream' : mode,
      AIBOMGEN_UPSTREAM_URL: upstreamUrl,
      // The default, stated: blob GETs through the front answer with distribution's redirect to S3.
      ...(mode === 's3' ? { AIBOMGEN_REGISTRY_BLOB_REDIRECT: 'true' } : {}),
      LOG_LEVEL: 'warn',
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      async (r) => (await r.arrayBuffer(), r.status === 200),
      () => false,
    );
    if (ok) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Starts bench/registry/relay.ts in front of `upstream`. */
async function startRelay(upstream: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'relay.ts'), String(port), upstream],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  await new Promise<void>((ok, fail) => {
    child.once('message', () => ok());
    child.once('exit', (code) => fail(new Error(`relay exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

const mib = (bytes: number, secs: number) => bytes / 1024 / 1024 / secs;
const fmt = (n: number) => n.toFixed(1).padStart(7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

type Target = 'relay' | Mode;
interface Sample {
  push: number;
  pull: number;
  pushRatio: number;
  pullRatio: number;
  cpuPush: number;
  cpuPull: number;
  peak?: number;
  /** MiB the server wrote (sockets included) during the pull: ~0 when the client was redirected to S3. */
  sentMb?: number;
}

/** The same client straight to a distribution: push then pull, seconds each, and a row for the log. */
async function directRun(
  up: Distribution,
  name: string,
  run: number,
  t: { file: string; digest: string; size: number; sink: string },
): Promise<{ push: number; pull: number; row: string }> {
  const gib = t.size / 1024 ** 3;
  settle();
  const [push_, pushCpu] = await cpuOf({ upstream: up.pid }, gib, () =>
    push(up.url, `bench/${name}${run}`, t.file, t.digest, t.size),
  );
  settle();
  const [pull_, pullCpu] = await cpuOf({ upstream: up.pid }, gib, () =>
    pull(up.url, `bench/${name}${run}`, t.digest, t.sink, t.size),
  );
  return {
    push: push_,
    pull: pull_,
    row:
      `${name.padEnd(9)} run ${run}: push ${fmt(mib(t.size, push_))} MiB/s (${fmtCpu(pushCpu, false)})   ` +
      `pull ${fmt(mib(t.size, pull_))} MiB/s (${fmtCpu(pullCpu, false)})`,
  };
}

async function main(): Promise<void> {
  const { size, modes, runs, nodeOptions, smoke } = args();
  await buildServer(); // npm start's prestart
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-bench-'));
  const up = await startDistribution();
  let s3: S3Server | undefined;
  let upS3: Distribution | undefined;
  const rows: string[] = [];
  const direct: { push: number; pull: number }[] = [];
  const directS3: { push: number; pull: number }[] = [];
  const samples = new Map<Target, Sample[]>();
  const gib = size / 1024 ** 3;
  try {
    if (modes.includes('s3')) {
      s3 = await startS3();
      upS3 = await startDistribution({ s3 });
      // SeaweedFS creates its first volumes on the first write (seconds): not part of any timed transfer.
      await new OciClient(upS3.url).pushBlob('bench/warm-up', randomBytes(6 << 20), 'application/octet-stream');
    }
    const file = join(work, 'blob.bin');
    process.stderr.write(`writing ${(size / 1024 ** 2).toFixed(0)} MiB of random data...\n`);
    const digest = await writeRandomFile(file, size);
    const t = { file, digest, size, sink: join(work, 'pulled.bin') };

    for (let run = 1; run <= runs; run++) {
      // Baselines: the same client straight to each upstream distribution.
      const d = await directRun(up, 'direct', run, t);
      direct.push({ push: mib(size, d.push), pull: mib(size, d.pull) });
      rows.push(d.row);
      // The S3 baseline runs right beside the front's S3 run, before it in odd runs and after it in even ones: the
      // object store's page cache and the other modes' traffic then favour neither side.
      let dS3: Awaited<ReturnType<typeof directRun>> | undefined;
      const s3Baseline = async () => {
        dS3 = await directRun(upS3!, 'direct-s3', run, t);
        directS3.push({ push: mib(size, dS3.push), pull: mib(size, dS3.pull) });
        rows.push(dS3.row);
        return dS3;
      };
      for (const target of ['relay', ...modes] as Target[]) {
        const upstream = target === 's3' ? upS3! : up;
        if (target === 's3' && run % 2 === 1) await s3Baseline();
        const dataDir = join(work, `data-${target}-${run}`);
        const { url, child } =
          target === 'relay' ? await startRelay(up.url) : await startServer(target, upstream.url, dataDir, nodeOptions);
        try {
          const pid = child.pid!;
          const idle = await vmHwmMb(pid);
          const pids = { server: pid, upstream: upstream.pid };
          settle();
          const [[fPush, pushRss], pushCpu] = await cpuOf(pids, gib, () =>
            sampled(pid, () => push(url, `bench/${target}${run}`, file, digest, size)),
          );
          settle();
          const sentBefore = await bytesWritten(pid);
          const [[fPull, pullRss], pullCpu] = await cpuOf(pids, gib, () =>
            sampled(pid, () => pull(url, `bench/${target}${run}`, digest, t.sink, size)),
          );
          const sentMb = ((await bytesWritten(pid)) - sentBefore) / 1024 ** 2;
          const peak = await vmHwmMb(pid);
          const base = target !== 's3' ? d : (dS3 ?? (await s3Baseline()));
          const x: Sample = {
            push: mib(size, fPush),
            pull: mib(size, fPull),
            pushRatio: base.push / fPush,
            pullRatio: base.pull / fPull,
            cpuPush: pushCpu.server,
            cpuPull: pullCpu.server,
            sentMb,
            ...(target === 'relay' ? {} : { peak }),
          };
          samples.set(target, [...(samples.get(target) ?? []), x]);
          rows.push(
            `${target.padEnd(9)} run ${run}: push ${fmt(x.push)} MiB/s (ratio ${x.pushRatio.toFixed(2)}, ${fmtCpu(pushCpu, true)})   ` +
              `pull ${fmt(x.pull)} MiB/s (ratio ${x.pullRatio.toFixed(2)}, ${fmtCpu(pullCpu, true)}, server sent ${sentMb.toFixed(2)} MiB)` +
              (target === 'relay'
                ? ''
                : `   peak RSS ${peak.toFixed(0)} MB (VmHWM; after start-up ${idle.toFixed(0)}, during push ${pushRss.toFixed(0)}, during pull ${pullRss.toFixed(0)})`),
          );
        } finally {
          await stopServer(child);
          await rm(dataDir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await upS3?.stop();
    await s3?.stop();
    await up.stop();
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(
    `registry bench${smoke ? ' (smoke: too small to time)' : ''}: ${(size / 1024 ** 2).toFixed(0)} MiB blob, ${runs} interleaved runs; ratio = front MiB/s / direct MiB/s in the same run (s3: / direct-s3; target >= 0.95), peak RSS target < 200 MB; server: npm start (${(await npmStartArgv()).join(' ')})${nodeOptions ? ` NODE_OPTIONS=${nodeOptions}` : ''}\n`,
  );
  for (const r of rows) process.stdout.write(`${r}\n`);
  process.stdout.write(`medians over ${runs} runs:\n`);
  const directLine = (name: string, xs: { push: number; pull: number }[]) =>
    `${name}: push ${fmt(median(xs.map((d) => d.push)))} MiB/s   pull ${fmt(median(xs.map((d) => d.pull)))} MiB/s\n`;
  process.stdout.write(directLine('direct  ', direct));
  if (directS3.length) process.stdout.write(directLine('direct-s3', directS3));
  for (const [target, xs] of samples) {
    const m = (k: keyof Sample) => median(xs.map((x) => x[k] ?? NaN));
    process.stdout.write(
      `${target.padEnd(8)}: push ${fmt(m('push'))} MiB/s ratio ${m('pushRatio').toFixed(2)} (${m('cpuPush').toFixed(2)} server CPU s/GiB)   ` +
        `pull ${fmt(m('pull'))} MiB/s ratio ${m('pullRatio').toFixed(2)} (${m('cpuPull').toFixed(2)} server CPU s/GiB, ` +
        `server sent ${m('sentMb').toFixed(2)} MiB)` +
        (target === 'relay' ? '' : `   peak RSS max ${Math.max(...xs.map((x) => x.peak ?? 0)).toFixed(0)} MB`) +
        '\n',
    );
  }
}

await main();
