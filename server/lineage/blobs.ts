import type { RegistryStore } from '../registry/store/port.ts';

/** Reads a small blob whole (configs, AIBoMs, bundles); undefined when missing or over `max` bytes. */
export async function readSmallBlob(store: RegistryStore, repo: string, digest: string, max: number): Promise<Buffer | undefined> {
  const st = await store.statBlob(repo, digest);
  if (!st || st.size > max) return undefined;
  const r = await store.readBlob(repo, digest);
  if (!r) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of r.body) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export async function readJsonBlob(store: RegistryStore, repo: string, digest: string, max: number): Promise<unknown> {
  const b = await readSmallBlob(store, repo, digest, max);
  if (!b) return undefined;
  try {
    return JSON.parse(b.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
