import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { manifestMediaTypes } from '../../../../schema/media-types.ts';
import { tagPattern } from '../../../../schema/oci.ts';
import type { Db } from '../../../db/connect.ts';
import { crashPoint } from '../../../ops/crash-point.ts';
import type { RegistryStore, StoredManifest } from '../port.ts';
import { FRONT_OWNER, type UpstreamBlobs } from './blobs.ts';
import { algOf } from './digest-stream.ts';
import {
  expectStatus,
  header,
  nextLink,
  readCapped,
  type UpstreamHttp,
  upstreamError,
  type UpstreamResponse,
} from './http.ts';
import { manifestOf, type TagIntent, type TagIntents } from './tag-intents.ts';

/** distribution 2.8 answers 404 to a manifest GET whose Accept does not list the stored type. */
const ACCEPT_MANIFESTS = { accept: manifestMediaTypes.join(', ') };
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const v2 = (repo: string, tail: string) => `/v2/${repo}/${tail}`;

export type UpstreamManifests = Pick<
  RegistryStore,
  'putManifest' | 'getManifest' | 'deleteManifest' | 'deleteTag' | 'listTags' | 'listRepositories'
> & {
  /** Finishes the tag removals a crash cut off (see tag-intents.ts); resolves to how many there were. */
  replayTagIntents(): Promise<number>;
};

/**
 * Manifests, tags and the catalog on a distribution 2.8 upstream: manifests are fetched with an Accept
 * listing every manifest type and checked against their digest, `"tags": null` reads as none, DELETE by
 * tag is emulated, and sha512-named manifests (2.8 knows manifests by sha256 only) are kept as blobs.
 */
export function upstreamManifests(
  http: UpstreamHttp,
  db: Db,
  blobs: UpstreamBlobs,
  maxManifest: number,
  intents: TagIntents,
): UpstreamManifests {
  const { createUpload, completeUpload, readBlob, deleteBlob } = blobs;
  /**
   * 2.8 addresses manifests only by their sha256 digest. A manifest pushed under a sha512 digest (by
   * digest only: the front names tagged manifests by sha256) is kept as a plain blob under that digest;
   * the front's index row says it is a manifest and gives its media type.
   */
  const blobBacked = (digest: string) => algOf(digest) === 'sha512';

  async function putManifest(repo: string, m: StoredManifest, tag?: string): Promise<void> {
    if (blobBacked(m.digest) && !tag) {
      const u = await createUpload(repo, FRONT_OWNER);
      await completeUpload(repo, u.id, m.digest, Readable.from([Buffer.from(m.bytes)]));
      return;
    }
    const res = await http.call('PUT', v2(repo, `manifests/${tag ?? m.digest}`), {
      headers: { 'content-type': m.mediaType },
      body: m.bytes,
    });
    await expectStatus(res, [201], `PUT manifest ${repo}:${tag ?? m.digest}`);
  }

  async function indexedMediaType(repo: string, digest: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('registry_manifests')
      .select('media_type')
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row?.media_type;
  }

  async function getBlobBackedManifest(repo: string, digest: string): Promise<StoredManifest | null> {
    const mediaType = await indexedMediaType(repo, digest);
    if (!mediaType) return null;
    const r = await readBlob(repo, digest);
    if (!r) return null;
    if (r.size > maxManifest) {
      r.body.destroy();
      throw new Error(`upstream manifest ${repo}@${digest} is larger than ${maxManifest} bytes`);
    }
    const chunks: Buffer[] = [];
    for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
    return { digest, mediaType, bytes: new Uint8Array(Buffer.concat(chunks)) };
  }

  /** The manifest bytes as the upstream has them, checked against the digest they are served under. */
  async function fetchManifest(repo: string, reference: string): Promise<StoredManifest | null> {
    const res = await http.call('GET', v2(repo, `manifests/${reference}`), { headers: ACCEPT_MANIFESTS });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) throw await upstreamError(res, `GET manifest ${repo}:${reference}`);
    const bytes = await readCapped(res, maxManifest, `manifest ${repo}:${reference}`);
    const claimed = reference.includes(':') ? reference : (header(res, 'docker-content-digest') ?? '');
    const alg = algOf(claimed);
    const digest = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
    if (claimed && digest !== claimed)
      throw new Error(`upstream manifest ${repo}:${reference} does not match its digest ${claimed}`);
    return { digest, mediaType: header(res, 'content-type') ?? '', bytes: new Uint8Array(bytes) };
  }

  async function getManifest(repo: string, reference: string): Promise<StoredManifest | null> {
    // 2.8 reads a malformed digest as a tag path and fails with 500: such a reference names nothing.
    if (!DIGEST.test(reference) && !tagPattern.test(reference)) return null;
    if (blobBacked(reference)) return getBlobBackedManifest(repo, reference);
    const m = await fetchManifest(repo, reference);
    if (!m) return null;
    // The media type the front recorded at PUT wins, as in the embedded store, so both modes answer alike.
    const mediaType = await indexedMediaType(repo, m.digest);
    return mediaType ? { ...m, mediaType } : m;
  }

  async function deleteManifest(repo: string, digest: string): Promise<boolean> {
    if (blobBacked(digest)) return (await indexedMediaType(repo, digest)) ? deleteBlob(repo, digest) : false;
    const res = await http.call('DELETE', v2(repo, `manifests/${digest}`));
    if (res.statusCode === 404) {
      await res.body.dump();
      return false;
    }
    await expectStatus(res, [202], `DELETE manifest ${repo}@${digest}`);
    return true;
  }

  /** Every item of a paginated list endpoint, following `Link: rel="next"`. */
  async function listAll(first: string, key: 'tags' | 'repositories'): Promise<string[] | null> {
    const out: string[] = [];
    let next: string | undefined = first;
    while (next) {
      const res: UpstreamResponse = await http.call('GET', next);
      if (res.statusCode === 404) {
        await res.body.dump();
        return null;
      }
      if (res.statusCode !== 200) throw await upstreamError(res, `GET ${next}`);
      const link = nextLink(res);
      const page = JSON.parse((await readCapped(res, 64 << 20, key)).toString('utf8')) as Record<
        string,
        string[] | null
      >;
      out.push(...(page[key] ?? [])); // 2.8 answers "tags": null when there are none
      next = link;
    }
    return out.sort();
  }

  const listTags = (repo: string) => listAll(`${v2(repo, 'tags/list')}?n=1000`, 'tags');

  /**
   * 2.8 refuses DELETE by tag, and deleting by digest removes every tag of the manifest. Emulated: note the
   * manifest and the repository's other tags on it, delete by digest, then put the manifest back under its digest
   * and those other tags. What the re-put needs is written down first (tag-intents.ts): a crash between the delete
   * and the re-put is finished by `replayTagIntents` at the next start, so no other tag and no manifest is lost.
   * Between the delete and the re-put the manifest is briefly missing; the front is the upstream's only client.
   */
  async function deleteTag(repo: string, tag: string): Promise<boolean> {
    const m = await fetchManifest(repo, tag);
    if (!m) return false;
    const others: string[] = [];
    for (const t of (await listTags(repo)) ?? []) {
      if (t === tag) continue;
      const res = await http.call('HEAD', v2(repo, `manifests/${t}`), { headers: ACCEPT_MANIFESTS });
      await res.body.dump();
      if (res.statusCode === 200 && header(res, 'docker-content-digest') === m.digest) others.push(t);
    }
    // The media type the front recorded wins over what 2.8 reports, as on every read.
    const mediaType = (await indexedMediaType(repo, m.digest)) ?? m.mediaType;
    const intent: TagIntent = { repo, tag, digest: m.digest, mediaType, bytes: m.bytes, others };
    const done = await intents.write(intent);
    crashPoint('upstream:tag-delete-intent');
    const had = await finishTagDelete(intent);
    await done();
    return had;
  }

  /** The part of a tag removal after its intent is recorded; safe to run again (a replay after a crash). */
  async function finishTagDelete(i: TagIntent): Promise<boolean> {
    const had = await deleteManifest(i.repo, i.digest);
    crashPoint('upstream:tag-delete-deleted');
    await putManifest(i.repo, manifestOf(i));
    crashPoint('upstream:tag-delete-reput');
    for (const t of i.others) await putManifest(i.repo, manifestOf(i), t);
    return had;
  }

  async function replayTagIntents(): Promise<number> {
    const left = await intents.pending();
    for (const { intent, done } of left) {
      await finishTagDelete(intent);
      await done();
    }
    return left.length;
  }

  return {
    putManifest,
    getManifest,
    deleteManifest,
    deleteTag,
    replayTagIntents,
    listTags,
    listRepositories: async () => (await listAll('/v2/_catalog?n=1000', 'repositories')) ?? [],
  };
}
