/**
 * The layouts in force, shared by every node through the database (`attest_layouts`, newest version wins):
 * the root layout and each job kind's one-step layout, signed by the layout (root) key, with the public root
 * and platform keys. A node with a keys directory (an API node, or any node in single-key mode) checks every
 * row against its own `root.pub` and falls back to the layout files there while the table is empty, so a
 * database writer without the root key cannot make a node trust another layout.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../db/connect.ts';
import { KEY_FILES, stepLayoutFile } from './keys.ts';
import { layoutSignedBy, type Layout } from './layout.ts';

/** The three layout files, by the names in-toto-verify is given them under. */
export interface LayoutSet {
  root: Layout;
  'train-platform': Layout;
  'train-image': Layout;
}
export const LAYOUT_NAMES = ['root', 'train-platform', 'train-image'] as const satisfies readonly (keyof LayoutSet)[];
export type LayoutName = (typeof LAYOUT_NAMES)[number];

export interface TrustMaterial {
  layouts: LayoutSet;
  rootPem: string;
  platformPem: string;
  /** The `attest_layouts` version; null: the files of the keys directory (no change made yet). */
  version: number | null;
}

/** How long a read is reused: verification asks per model and the lineage index per referrer. */
const CACHE_MS = 1000;

export class TrustStore {
  private cached?: { at: number; value: Promise<TrustMaterial> };

  constructor(
    private readonly db: Db,
    /** This node's keys directory; absent on a worker that holds only its own key. */
    private readonly keysDir?: string,
  ) {}

  /** The layouts in force and the public keys they rest on. */
  current(): Promise<TrustMaterial> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.value;
    const value = this.read();
    this.cached = { at: now, value };
    value.catch(() => (this.cached = undefined));
    return value;
  }

  /** Adds a version (the next number; a concurrent writer of the same number makes this one retry). */
  async save(layouts: LayoutSet, cause: string, rootPem: string, platformPem: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const last = await this.db
        .selectFrom('attest_layouts')
        .select((eb) => eb.fn.max('version').as('v'))
        .executeTakeFirst();
      const version = Number(last?.v ?? 0) + 1;
      try {
        await this.db
          .insertInto('attest_layouts')
          .values({
            version,
            created_at: new Date().toISOString(),
            cause,
            root_json: JSON.stringify(layouts.root),
            platform_json: JSON.stringify(layouts['train-platform']),
            image_json: JSON.stringify(layouts['train-image']),
            root_pem: rootPem,
            platform_pem: platformPem,
          })
          .execute();
        this.cached = undefined;
        return version;
      } catch (e) {
        if (attempt >= 5) throw e;
      }
    }
  }

  private async read(): Promise<TrustMaterial> {
    const ownRoot = this.keysDir ? await readText(join(this.keysDir, KEY_FILES.rootPub)) : undefined;
    // The platform key too: a node with the keys directory never takes it from a database row.
    const ownPlatform = this.keysDir ? await readText(join(this.keysDir, KEY_FILES.platformPub)) : undefined;
    const row = await this.db
      .selectFrom('attest_layouts')
      .selectAll()
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row) {
      const layouts: LayoutSet = {
        root: JSON.parse(row.root_json) as Layout,
        'train-platform': JSON.parse(row.platform_json) as Layout,
        'train-image': JSON.parse(row.image_json) as Layout,
      };
      const rootPem = ownRoot ?? row.root_pem;
      const bad = LAYOUT_NAMES.filter((n) => !layoutSignedBy(layouts[n], rootPem));
      if (bad.length)
        throw new Error(
          `layout version ${row.version} (${bad.join(', ')}) is not signed by ${ownRoot ? 'this node’s root.pub' : 'its root key'}`,
        );
      return { layouts, rootPem, platformPem: ownPlatform ?? row.platform_pem, version: Number(row.version) };
    }
    if (!this.keysDir) throw new Error('no layout: no API node with a keys directory has started yet');
    const dir = this.keysDir;
    const layout = async (file: string) => JSON.parse(await readFile(join(dir, file), 'utf8')) as Layout;
    return {
      layouts: {
        root: await layout(KEY_FILES.layout),
        'train-platform': await layout(stepLayoutFile('platform')),
        'train-image': await layout(stepLayoutFile('image')),
      },
      rootPem: await readFile(join(dir, KEY_FILES.rootPub), 'utf8'),
      platformPem: await readFile(join(dir, KEY_FILES.platformPub), 'utf8'),
      version: null,
    };
  }
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}
