import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { ConfigSchema } from '../../server/config.ts';
import { type Distribution, startDistribution } from '../helpers/distribution.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { StoreMode } from './front-modes.ts';

export type Overrides = Partial<z.input<typeof ConfigSchema>>;

/** The front in one store mode with configuration overrides (limits set low for a test). */
export interface HardenedFront {
  mode: StoreMode;
  srv: TestServer;
  up?: Distribution;
  /** Upload session directories holding data in the store (ours, or the upstream's `_uploads`). */
  uploadDirs(repo: string): Promise<string[]>;
  /** The data file of one upload session, where its bytes land as they arrive. */
  uploadData(repo: string, id: string): string;
  close(): Promise<void>;
}

export async function startHardenedFront(mode: StoreMode, overrides: Overrides = {}): Promise<HardenedFront> {
  const up = mode === 'upstream' ? await startDistribution() : undefined;
  let srv: TestServer;
  try {
    srv = await startTestServer({
      ...(up ? { registryStore: 'upstream', upstreamUrl: up.url } : { registryStore: 'embedded' }),
      ...overrides,
    });
  } catch (e) {
    await up?.stop();
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
    async uploadDirs(repo) {
      const ids = await readdir(dirOf(repo)).catch(() => [] as string[]);
      if (!up) return ids;
      // 2.8 leaves a deleted upload's directory behind with only its hash state: count those holding data.
      const held: string[] = [];
      for (const id of ids)
        if ((await readdir(join(dirOf(repo), id)).catch(() => [])).some((f) => f === 'data' || f === 'startedat'))
          held.push(id);
      return held;
    },
    uploadData: (repo, id) => join(dirOf(repo), id, 'data'),
    async close() {
      await srv.close();
      await up?.stop();
    },
  };
}

export async function specError(res: Response): Promise<string> {
  return ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code;
}
