import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { manifestMediaTypes, MediaType } from '../../schema/media-types.ts';
import { buildServer } from '../../server/build.ts';
import type { CrashPointName } from '../../server/ops/crash-point.ts';
import { freePort } from './net.ts';

/**
 * The server as `npm start` runs it: one bundle of server/main.ts (server/build.ts), built once per test process
 * from the current sources. A start through tsx takes ~8 s on 2 cores; the bundle ~1–2 s, and a crash test starts
 * the server some 60 times.
 */
const BUNDLE = fileURLToPath(new URL(`../.out/crash-server-${process.pid}.mjs`, import.meta.url));
let built: Promise<void> | undefined;
export function buildBundle(): Promise<void> {
  built ??= buildServer(BUNDLE);
  return built;
}
/** Removes the bundle (and its source map). */
export async function removeBundle(): Promise<void> {
  await Promise.all([rm(BUNDLE, { force: true }), rm(`${BUNDLE}.map`, { force: true })]);
}

/** The real server as a child process, killed and restarted by the crash tests. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The last lines it wrote to stderr (for failure messages). */
  stderr: () => string;
}

export interface Crash {
  at: CrashPointName;
  nth?: number;
}

/** Spawns the server; with `crash`, the environment names the point where it kills itself. */
export async function spawnServer(env: Record<string, string>, crash?: Crash): Promise<ServerProcess> {
  await buildBundle();
  const port = await freePort();
  const child = spawn(process.execPath, [BUNDLE], {
    env: {
      ...process.env,
      AIBOMGEN_AUTH: 'off',
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(crash ? { AIBOMGEN_TEST_CRASH_AT: crash.at, AIBOMGEN_TEST_CRASH_NTH: String(crash.nth ?? 1) } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => err };
}

/** Resolves once /readyz answers 200; throws when the process exits first. */
export async function ready(s: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null || s.child.signalCode !== null)
      throw new Error(`server exited (${s.child.exitCode ?? s.child.signalCode}) before it was ready: ${s.stderr()}`);
    const ok = await fetch(`${s.url}/readyz`).then(
      async (r) => (await r.arrayBuffer(), r.ok),
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready within ${timeoutMs} ms: ${s.stderr()}`);
}

/** The signal that ended the process (null: a plain exit), waiting at most `timeoutMs`. */
export async function exited(s: ServerProcess, timeoutMs: number): Promise<NodeJS.Signals | null | 'running'> {
  const { child } = s;
  if (child.exitCode === null && child.signalCode === null) {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((r) => child.once('exit', () => r(true))),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!done) return 'running';
  }
  return child.signalCode;
}

/** Stops a server the normal way (SIGTERM), SIGKILL after 15 s. */
export async function stop(s: ServerProcess): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(t);
}

// ---- the registry over HTTP, as any client sees it ----

export const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ACCEPT = { accept: manifestMediaTypes.join(', ') };

export async function pushBlob(url: string, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: Buffer.from(bytes),
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (res.status !== 201) throw new Error(`blob push to ${repo}: ${res.status} ${await res.text()}`);
  return digest;
}

/** A small OCI artifact manifest (its layer pushed first) whose bytes differ by `label`. */
export async function artifact(url: string, repo: string, label: string): Promise<Uint8Array> {
  const empty = new TextEncoder().encode('{}');
  const layer = new TextEncoder().encode(`content ${label}`);
  await pushBlob(url, repo, empty);
  const ld = await pushBlob(url, repo, layer);
  return new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/vnd.test.crash',
      config: { mediaType: MediaType.ociEmpty, digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: 'application/octet-stream', digest: ld, size: layer.length }],
      annotations: { label },
    }),
  );
}

export async function putManifest(url: string, repo: string, ref: string, bytes: Uint8Array): Promise<Response> {
  return fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    body: Buffer.from(bytes),
    headers: { 'content-type': MediaType.ociManifest },
  });
}

/** The digest `ref` resolves to through the front, or null (404). */
export async function resolve(url: string, repo: string, ref: string): Promise<string | null> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: ACCEPT });
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET ${repo}:${ref}: ${res.status} ${Buffer.from(body).toString()}`);
  return sha256(body);
}

export async function listTags(url: string, repo: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/${repo}/tags/list`);
  if (res.status === 404) return (await res.arrayBuffer(), []);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

export async function catalog(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] | null }).repositories ?? [];
}
