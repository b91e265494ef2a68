import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { StoredManifest } from '../port.ts';

/**
 * A tag removal on distribution 2.8 in flight, written down before it starts. 2.8 refuses DELETE by tag, so the
 * front deletes the manifest by digest (which takes every tag of it) and puts it back under its digest and its other
 * tags; a kill between the two would lose the manifest and those tags. The intent holds what the re-put needs (the
 * manifest bytes, byte-exact, and the other tags), so a restart finishes the removal (`replay`) instead.
 */
const Intent = z.object({
  repo: z.string(),
  tag: z.string(),
  digest: z.string(),
  mediaType: z.string(),
  bytes: z.base64(),
  others: z.array(z.string()),
});
export type TagIntent = Omit<z.infer<typeof Intent>, 'bytes'> & { bytes: Uint8Array };

export interface TagIntents {
  /** Records the intent durably (written beside, fsynced, renamed); resolves to its `done()`. */
  write(i: TagIntent): Promise<() => Promise<void>>;
  /** Every intent a crash left behind, oldest name first. */
  pending(): Promise<{ intent: TagIntent; done: () => Promise<void> }[]>;
}

export function tagIntents(dir: string): TagIntents {
  const fileOf = (repo: string, tag: string) =>
    join(dir, `${createHash('sha256').update(`${repo}\n${tag}`).digest('hex')}.json`);
  const done = (file: string) => () => rm(file, { force: true });
  return {
    async write(i) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = fileOf(i.repo, i.tag);
      const tmp = `${file}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify({ ...i, bytes: Buffer.from(i.bytes).toString('base64') }));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      // The rename itself made durable: the directory's entry is what a restart reads.
      const dh = await open(dir, 'r');
      await dh.sync().finally(() => dh.close());
      return done(file);
    },
    async pending() {
      const names = await readdir(dir).catch(() => [] as string[]);
      const out: { intent: TagIntent; done: () => Promise<void> }[] = [];
      for (const name of names.sort()) {
        const file = join(dir, name);
        // A `.tmp` is an intent the crash cut off before it was recorded: its removal never started.
        if (!name.endsWith('.json')) {
          await rm(file, { force: true });
          continue;
        }
        const raw = Intent.parse(JSON.parse(await readFile(file, 'utf8')));
        out.push({ intent: { ...raw, bytes: new Uint8Array(Buffer.from(raw.bytes, 'base64')) }, done: done(file) });
      }
      return out;
    },
  };
}

/** The manifest an intent puts back. */
export const manifestOf = (i: TagIntent): StoredManifest => ({
  digest: i.digest,
  mediaType: i.mediaType,
  bytes: i.bytes,
});
