import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../helpers/distribution.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export type StoreMode = 'embedded' | 'upstream';
export const storeModes: StoreMode[] = ['embedded', 'upstream'];

/** The front in one store mode; in upstream mode with its own real distribution registry behind it. */
export interface Front {
  mode: StoreMode;
  srv: TestServer;
  up?: Distribution;
  /** Upload sessions holding data in the store (files on disk in either mode): a failed push leaves none. */
  openUploads(repo: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startFront(mode: StoreMode): Promise<Front> {
  const up = mode === 'upstream' ? await startDistribution() : undefined;
  let srv: TestServer;
  try {
    srv = await startTestServer(
      up ? { registryStore: 'upstream', upstreamUrl: up.url } : { registryStore: 'embedded' },
    );
  } catch (e) {
    await up?.stop(); // a server that fails to start must not leave its registry running
    throw e;
  }
  const dirOf = (repo: string) =>
    up
      ? join(up.rootDir, 'storage', 'docker', 'registry', 'v2', 'repositories', repo, '_uploads')
      : join(srv.dataDir, 'registry', 'uploads');
  return {
    mode,
    srv,
    ...(up ? { up } : {}),
    async openUploads(repo) {
      const ids = await readdir(dirOf(repo)).catch(() => []);
      if (!up) return ids;
      // 2.8 leaves a cancelled upload's directory behind with only its hash state: count those holding data.
      const held: string[] = [];
      for (const id of ids)
        if ((await readdir(join(dirOf(repo), id))).some((f) => f === 'data' || f === 'startedat')) held.push(id);
      return held;
    },
    async close() {
      await srv.close();
      await up?.stop();
    },
  };
}
