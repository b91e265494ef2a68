import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.ts';

/** A throwaway PostgreSQL cluster (Debian's postgresql 15 binaries, run as the postgres user), or undefined where there is none. */
export interface TestPostgres {
  /** A fresh database on the cluster. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

const BIN = '/usr/lib/postgresql/15/bin';

export async function startPostgres(): Promise<TestPostgres | undefined> {
  const pwent = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (!existsSync(join(BIN, 'initdb')) || pwent.status !== 0) return undefined;
  const uid = Number(pwent.stdout.trim());
  const dir = mkdtempSync(join(tmpdir(), 'lineage-pg-'));
  chownSync(dir, uid, uid);
  const asPg = (args: string[]): string[] =>
    process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
  const [cmd, ...rest] = asPg([
    join(BIN, 'initdb'),
    '-D',
    join(dir, 'data'),
    '--auth=trust',
    '-U',
    'postgres',
    '--no-sync',
  ]);
  const init = spawnSync(cmd!, rest, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [pcmd, ...pargs] = asPg([
    join(BIN, 'postgres'),
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
  ]);
  const proc: ChildProcess = spawn(pcmd!, pargs, { stdio: 'ignore' });
  const pg = await import('pg');
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    const c = new pg.default.Client({ connectionString: admin });
    try {
      await c.connect();
      await c.end();
      break;
    } catch {
      if (i > 100) throw new Error('postgres did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    async database(name) {
      const c = new pg.default.Client({ connectionString: admin });
      await c.connect();
      await c.query(`create database "${name}"`);
      await c.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // runuser does not forward signals to postgres: ask pg_ctl, then wait (bounded) for the server to go.
      const exited =
        proc.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => proc.once('exit', () => r()));
      const [scmd, ...sargs] = asPg([join(BIN, 'pg_ctl'), 'stop', '-D', join(dir, 'data'), '-m', 'immediate', '-w']);
      spawnSync(scmd!, sargs, { stdio: 'ignore' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
