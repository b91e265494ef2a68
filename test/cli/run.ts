import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A private HOME and config path per test, and no inherited AIBOMGEN_* settings. */
export function cliHome(): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), 'aibomgen-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('AIBOMGEN_')) delete env[k];
  return { home, env };
}

/**
 * Runs the real `aibomgen` bin as a child process, asynchronously (the test server answers from this
 * process's event loop, so a synchronous spawn would deadlock).
 */
export function aibomgen(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(process.cwd(), 'cli/bin.js'), ...args], {
      env: opts.env ?? cliHome().env,
      cwd: opts.cwd ?? process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Parses stdout as JSON, failing with the CLI's output when it is not. */
export function json<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (status ${r.status}):\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
}

/** A loopback URL where nothing listens (a port that was free a moment ago). */
export async function deadUrl(): Promise<string> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as { port: number };
      s.close(() => resolve(p));
    });
  });
  return `http://127.0.0.1:${port}`;
}
