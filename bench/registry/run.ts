/**
 * Registry bench (not a test): pushes then pulls one big random blob (default 1 GiB) through the /v2/
 * front in each store mode, directly against the upstream distribution registry (the baseline), and through
 * a bare node:http relay to it (relay.ts: what any Node process in the path costs), interleaved, `--runs`
 * times. Prints per run and as medians: MiB/s, the ratio front/direct (per run, so both sides of a ratio ran
 * under the same conditions: this machine's throughput drifts by ±20% between minutes), CPU seconds per
 * GiB moved of the client (this process), the server and the upstream distribution (utime+stime from
 * /proc: they show who a transfer waited on), and the server's peak RSS (VmHWM).
 *
 *   npx tsx bench/registry/run.ts [--size 1g] [--modes embedded,upstream] [--runs 3] [--node-options "<flags>"]
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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildServer } from '../../server/build.ts';
import { OciClient } from '../../server/oci/client.ts';
import { startDistribution } from '../../test/helpers/distribution.ts';
import { freePort } from '../../test/helpers/net.ts';

type Mode = 'embedded' | 'upstream';

const repoRoot = resolve(import.meta.dirname, '../..');

function args(): { size: number; modes: Mode[]; runs: number; nodeOptions?: string; smoke: boolean } {
  const a = process.argv.slice(2);
  const get = (k: string) => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  // --smoke only changes the defaults: every step still runs (build, distribution, relay, both store modes).
  const smoke = a.includes('--smoke');
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(get('size') ?? (smoke ? '2m' : '1g'));
  if (!m) throw new Error('--size like 1g, 256m, 4096k');
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return {
    size: Math.round(Number(m[1]) * unit),
    modes: (get('modes') ?? 'embedded,upstream').split(',') as Mode[],
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

async function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
}
const vmHwmMb = (pid: number) => procStatusMb(pid, 'VmHWM');

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15 of stat)
}
/** CPU seconds per GiB spent during `phase` by this process (the client), the server and the upstream. */
async function cpuOf<T>(
  pids: { server?: number; upstream: number },
  gib: number,
  phase: () => Promise<T>,
): Promise<[T, Cpu]> {
  const read = async () => ({
    client: process.cpuUsage(),
    server: pids.server ? await cpuSeconds(pids.server) : 0,
    upstream: await cpuSeconds(pids.upstream),
  });
  const a = await read();
  const out = await phase();
  const b = await read();
  const client = (b.client.user + b.client.system - a.client.user - a.client.system) / 1e6;
  return [
    out,
    { client: client / gib, server: (b.server - a.server) / gib, upstream: (b.upstream - a.upstream) / gib },
  ];
}
interface Cpu {
  client: number;
  server: number;
  upstream: number;
}
const fmtCpu = (c: Cpu, withServer: boolean) =>
  `CPU s/GiB client ${c.client.toFixed(2)}${withServer ? ` server ${c.server.toFixed(2)}` : ''} upstream ${c.upstream.toFixed(2)}`;

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Runs `phase` while sampling the process's RSS every 50 ms; returns its result and the highest sample. */
async function sampled<T>(pid: number, phase: () => Promise<T>): Promise<[T, number]> {
  let max = 0;
  const timer = setInterval(
    () =>
      void procStatusMb(pid, 'VmRSS').then(
        (mb) => (max = Math.max(max, mb)),
        () => {},
      ),
    50,
  );
  try {
    return [await phase(), max];
  } finally {
    clearInterval(timer);
  }
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
      AIBOMGEN_REGISTRY_STORE: mode,
      AIBOMGEN_UPSTREAM_URL: upstreamUrl,
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

/**
 * Flushes dirty pages before each timed transfer: otherwise the kernel writes back the GiBs earlier steps
 * stored while a later target is being timed, and the targets measured last in a run look slower.
 */
function settle(): void {
  spawnSync('sync');
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
}

async function main(): Promise<void> {
  const { size, modes, runs, nodeOptions, smoke } = args();
  await buildServer(); // npm start's prestart
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-bench-'));
  const up = await startDistribution();
  const rows: string[] = [];
  const direct: { push: number; pull: number }[] = [];
  const samples = new Map<Target, Sample[]>();
  const gib = size / 1024 ** 3;
  try {
    const file = join(work, 'blob.bin');
    process.stderr.write(`writing ${(size / 1024 ** 2).toFixed(0)} MiB of random data...\n`);
    const digest = await writeRandomFile(file, size);
    const sink = join(work, 'pulled.bin');

    for (let run = 1; run <= runs; run++) {
      // Baseline: the same client straight to the upstream distribution.
      settle();
      const [dPush, dPushCpu] = await cpuOf({ upstream: up.pid }, gib, () =>
        push(up.url, `bench/direct${run}`, file, digest, size),
      );
      settle();
      const [dPull, dPullCpu] = await cpuOf({ upstream: up.pid }, gib, () =>
        pull(up.url, `bench/direct${run}`, digest, sink, size),
      );
      direct.push({ push: mib(size, dPush), pull: mib(size, dPull) });
      rows.push(
        `direct   run ${run}: push ${fmt(mib(size, dPush))} MiB/s (${fmtCpu(dPushCpu, false)})   pull ${fmt(mib(size, dPull))} MiB/s (${fmtCpu(dPullCpu, false)})`,
      );
      for (const target of ['relay', ...modes] as Target[]) {
        const dataDir = join(work, `data-${target}-${run}`);
        const { url, child } =
          target === 'relay' ? await startRelay(up.url) : await startServer(target, up.url, dataDir, nodeOptions);
        try {
          const pid = child.pid!;
          const idle = await vmHwmMb(pid);
          const pids = { server: pid, upstream: up.pid };
          settle();
          const [[fPush, pushRss], pushCpu] = await cpuOf(pids, gib, () =>
            sampled(pid, () => push(url, `bench/${target}${run}`, file, digest, size)),
          );
          settle();
          const [[fPull, pullRss], pullCpu] = await cpuOf(pids, gib, () =>
            sampled(pid, () => pull(url, `bench/${target}${run}`, digest, sink, size)),
          );
          const peak = await vmHwmMb(pid);
          const x: Sample = {
            push: mib(size, fPush),
            pull: mib(size, fPull),
            pushRatio: dPush / fPush,
            pullRatio: dPull / fPull,
            cpuPush: pushCpu.server,
            cpuPull: pullCpu.server,
            ...(target === 'relay' ? {} : { peak }),
          };
          samples.set(target, [...(samples.get(target) ?? []), x]);
          rows.push(
            `${target.padEnd(8)} run ${run}: push ${fmt(x.push)} MiB/s (ratio ${x.pushRatio.toFixed(2)}, ${fmtCpu(pushCpu, true)})   ` +
              `pull ${fmt(x.pull)} MiB/s (ratio ${x.pullRatio.toFixed(2)}, ${fmtCpu(pullCpu, true)})` +
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
    await up.stop();
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(
    `registry bench${smoke ? ' (smoke: too small to time)' : ''}: ${(size / 1024 ** 2).toFixed(0)} MiB blob, ${runs} interleaved runs; ratio = front MiB/s / direct MiB/s in the same run (target >= 0.95), peak RSS target < 200 MB; server: npm start (${(await npmStartArgv()).join(' ')})${nodeOptions ? ` NODE_OPTIONS=${nodeOptions}` : ''}\n`,
  );
  for (const r of rows) process.stdout.write(`${r}\n`);
  process.stdout.write(`medians over ${runs} runs:\n`);
  process.stdout.write(
    `direct  : push ${fmt(median(direct.map((d) => d.push)))} MiB/s   pull ${fmt(median(direct.map((d) => d.pull)))} MiB/s\n`,
  );
  for (const [target, xs] of samples) {
    const m = (k: keyof Sample) => median(xs.map((x) => x[k] ?? NaN));
    process.stdout.write(
      `${target.padEnd(8)}: push ${fmt(m('push'))} MiB/s ratio ${m('pushRatio').toFixed(2)} (${m('cpuPush').toFixed(2)} server CPU s/GiB)   ` +
        `pull ${fmt(m('pull'))} MiB/s ratio ${m('pullRatio').toFixed(2)} (${m('cpuPull').toFixed(2)} server CPU s/GiB)` +
        (target === 'relay' ? '' : `   peak RSS max ${Math.max(...xs.map((x) => x.peak ?? 0)).toFixed(0)} MB`) +
        '\n',
    );
  }
}

await main();
