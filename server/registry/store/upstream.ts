import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { manifestMediaTypes } from '../../../schema/media-types.ts';
import { tagPattern } from '../../../schema/oci.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import { RegistryError } from '../errors.ts';
import type { BlobRead, BlobStat, ByteRange, RegistryStore, StoredManifest, UploadState } from './port.ts';
import { algOf, hashingTee, verifyingTee } from './upstream/digest-stream.ts';
import { header, nextLink, readCapped, UpstreamHttp, upstreamError, type UpstreamResponse } from './upstream/http.ts';
import { UploadSessions, type UploadSession } from './upstream/sessions.ts';

const OCTET = { 'content-type': 'application/octet-stream' };
/** distribution 2.8 answers 404 to a manifest GET whose Accept does not list the stored type. */
const ACCEPT_MANIFESTS = { accept: manifestMediaTypes.join(', ') };
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * The upstream store: a CNCF distribution registry (Debian's docker-registry 2.8) over HTTP, streaming
 * blobs both ways. It makes up for what 2.8 does not do (see ../../../../shared FACTS "distribution 2.8
 * quirks"): chunk order is enforced here (2.8 appends whatever arrives), monolithic uploads always go
 * POST + PUT (2.8 drops the body of `POST ?digest=`), DELETE by tag is emulated, manifests are fetched
 * with an Accept listing every manifest type, `"tags": null` reads as none, and blob bodies are sent as
 * application/octet-stream (2.8 parses anything else as a form).
 */
export const UpstreamStore = {
  async open(config: Config, db: Db): Promise<RegistryStore> {
    if (!config.upstreamUrl) throw new Error('AIBOMGEN_UPSTREAM_URL is required when AIBOMGEN_REGISTRY_STORE=upstream');
    const http = new UpstreamHttp(config.upstreamUrl);
    const sessions = new UploadSessions();
    const maxManifest = config.maxManifestBytes;
    const v2 = (repo: string, tail: string) => `/v2/${repo}/${tail}`;

    async function expect(res: UpstreamResponse, ok: number[], what: string): Promise<void> {
      if (!ok.includes(res.statusCode)) throw await upstreamError(res, what);
      await res.body.dump();
    }

    async function statBlob(repo: string, digest: string): Promise<BlobStat | null> {
      const res = await http.call('HEAD', v2(repo, `blobs/${digest}`));
      await res.body.dump();
      if (res.statusCode === 404) return null;
      if (res.statusCode !== 200) throw await upstreamError(res, `HEAD blob ${digest}`);
      return { digest, size: Number(header(res, 'content-length') ?? 0) };
    }

    async function readBlob(repo: string, digest: string, range?: ByteRange): Promise<BlobRead | null> {
      if (range && range.start > range.end) throw new RegistryError('RANGE_INVALID', `range ${range.start}-${range.end} is empty`);
      const headers: Record<string, string> = {};
      if (range) headers.range = `bytes=${range.start}-${range.end >= Number.MAX_SAFE_INTEGER ? '' : range.end}`;
      let res = await http.call('GET', v2(repo, `blobs/${digest}`), { headers });
      // A storage driver with redirects (S3) answers 307 to the backend: follow it once, without our headers.
      const redirect = res.statusCode === 307 || res.statusCode === 302 ? header(res, 'location') : undefined;
      if (redirect) {
        await res.body.dump();
        res = await http.call('GET', http.url(redirect), { headers });
      }
      if (res.statusCode === 404) {
        await res.body.dump();
        return null;
      }
      if (res.statusCode === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header(res, 'content-range') ?? '');
        if (!m) {
          res.body.destroy();
          throw new Error(`upstream sent 206 without a usable Content-Range for ${digest}`);
        }
        return { digest, size: Number(m[3]), body: res.body, range: { start: Number(m[1]), end: Number(m[2]) } };
      }
      if (res.statusCode !== 200) throw await upstreamError(res, `GET blob ${digest}`);
      const size = Number(header(res, 'content-length') ?? 0);
      // The whole blob is checked against its digest on the way out: a mismatch ends the response with an error.
      return { digest, size, body: pipeline(res.body, verifyingTee(digest), () => {}) };
    }

    async function deleteBlob(repo: string, digest: string): Promise<boolean> {
      const res = await http.call('DELETE', v2(repo, `blobs/${digest}`));
      if (res.statusCode === 404) {
        await res.body.dump();
        return false;
      }
      await expect(res, [202], `DELETE blob ${digest}`);
      return true;
    }

    async function mountBlob(repo: string, from: string, digest: string): Promise<BlobStat | null> {
      const q = new URLSearchParams({ mount: digest, from });
      const res = await http.call('POST', `${v2(repo, 'blobs/uploads/')}?${q}`);
      if (res.statusCode === 201) {
        await res.body.dump();
        const st = await statBlob(repo, digest);
        if (st) return st;
        // 2.8 answers 201 to a sha512 mount without linking the blob: fall through to the copy.
      } else if (res.statusCode === 202) {
        // 2.8 opens an upload session when it cannot mount; nobody will use it.
        await res.body.dump();
        const loc = header(res, 'location');
        if (loc) await http.call('DELETE', http.url(loc)).then((r) => r.body.dump(), () => {});
      } else throw await upstreamError(res, `mount ${digest} from ${from}`);
      // When `from` does have the blob, the bytes are copied (streamed, verified) instead.
      const source = await readBlob(from, digest);
      if (!source) return null;
      const u = await createUpload(repo);
      return completeUpload(repo, u.id, digest, source.body);
    }

    async function createUpload(repo: string): Promise<UploadState> {
      const res = await http.call('POST', v2(repo, 'blobs/uploads/'));
      const loc = header(res, 'location');
      const id = header(res, 'docker-upload-uuid');
      if (res.statusCode !== 202 || !loc || !id) throw await upstreamError(res, `start upload to ${repo}`);
      await res.body.dump();
      const s = sessions.open(id, repo, http.url(loc).toString());
      return { id: s.id, repo, offset: 0 };
    }

    function session(repo: string, id: string, body?: Readable): UploadSession {
      const s = sessions.get(repo, id);
      if (!s) {
        body?.resume();
        throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
      }
      return s;
    }

    /** Ends a session for good (after a failure or a cancel): forgets it and deletes it upstream. */
    async function abandon(s: UploadSession): Promise<void> {
      sessions.drop(s.id);
      await http.call('DELETE', s.location).then((r) => r.body.dump(), () => {});
    }

    /**
     * PATCHes `body` onto the session through its running sha256 (and `extra` hashes); the session dies if
     * the transfer fails. Keeps the new Location (2.8 refuses the next request with a stale `_state`).
     */
    async function patch(s: UploadSession, body: Readable, extra: Hash[] = []): Promise<void> {
      let added = 0;
      const streamed = pipeline(body, hashingTee([s.sha256, ...extra], (n) => (added += n)), () => {});
      let res: UpstreamResponse;
      try {
        res = await http.call('PATCH', s.location, { headers: OCTET, body: streamed });
      } catch (e) {
        await abandon(s);
        throw e;
      }
      const loc = header(res, 'location');
      if (res.statusCode !== 202 || !loc) {
        const err = await upstreamError(res, `PATCH upload ${s.id}`);
        await abandon(s);
        throw err;
      }
      await res.body.dump();
      s.offset += added;
      s.location = http.url(loc).toString();
    }

    async function appendUpload(repo: string, id: string, body: Readable, start?: number): Promise<UploadState> {
      const s = session(repo, id, body);
      return sessions.exclusive(s, async () => {
        // 2.8 ignores Content-Range and would append an out-of-order chunk: the order is checked here.
        if (start !== undefined && start !== s.offset) {
          body.resume();
          throw new RegistryError('RANGE_INVALID', `chunk starts at ${start}, expected ${s.offset}`);
        }
        await patch(s, body);
        return { id, repo, offset: s.offset };
      });
    }

    /**
     * A final body goes as one more PATCH, and the PUT that commits carries none: so the content is checked
     * here before the upstream commits anything (2.8, refusing a PUT's digest itself, would keep the
     * refused upload's data on disk). The check needs the digest's algorithm over every byte: sha256 is
     * always kept; a sha512 digest is checked here when the whole blob came in the final body, else by
     * the upstream, which verifies every digest it commits.
     */
    async function completeUpload(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat> {
      const s = session(repo, id, body);
      return sessions.exclusive(s, async () => {
        const alg = algOf(digest);
        const whole = alg === 'sha512' && s.offset === 0 ? createHash('sha512') : undefined;
        if (body) await patch(s, body, whole ? [whole] : []);
        const actual = alg === 'sha256' ? `sha256:${s.sha256.copy().digest('hex')}` : whole && `sha512:${whole.digest('hex')}`;
        if (actual && actual !== digest) {
          await abandon(s);
          throw new RegistryError('DIGEST_INVALID', `content digest ${actual} does not match ${digest}`);
        }
        const url = new URL(s.location);
        url.searchParams.set('digest', digest);
        const res = await http.call('PUT', url, { headers: OCTET, body: new Uint8Array() }).catch(async (e: unknown) => {
          await abandon(s);
          throw e;
        });
        if (res.statusCode !== 201) {
          const err = await upstreamError(res, `PUT upload ${id}`);
          await abandon(s);
          throw err;
        }
        await res.body.dump();
        sessions.drop(s.id);
        return { digest, size: s.offset };
      });
    }

    async function cancelUpload(repo: string, id: string): Promise<boolean> {
      const s = sessions.get(repo, id);
      if (!s) return false;
      await sessions.exclusive(s, () => abandon(s));
      return true;
    }

    /**
     * 2.8 addresses manifests only by their sha256 digest. A manifest pushed under a sha512 digest (by
     * digest only: the front names tagged manifests by sha256) is kept as a plain blob under that digest;
     * the front's index row says it is a manifest and gives its media type.
     */
    const blobBacked = (digest: string) => algOf(digest) === 'sha512';

    async function putManifest(repo: string, m: StoredManifest, tag?: string): Promise<void> {
      if (blobBacked(m.digest) && !tag) {
        const u = await createUpload(repo);
        await completeUpload(repo, u.id, m.digest, Readable.from([Buffer.from(m.bytes)]));
        return;
      }
      const res = await http.call('PUT', v2(repo, `manifests/${tag ?? m.digest}`), { headers: { 'content-type': m.mediaType }, body: m.bytes });
      await expect(res, [201], `PUT manifest ${repo}:${tag ?? m.digest}`);
    }

    async function indexedMediaType(repo: string, digest: string): Promise<string | undefined> {
      const row = await db.selectFrom('registry_manifests').select('media_type').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
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
      if (claimed && digest !== claimed) throw new Error(`upstream manifest ${repo}:${reference} does not match its digest ${claimed}`);
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
      await expect(res, [202], `DELETE manifest ${repo}@${digest}`);
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
        const page = JSON.parse((await readCapped(res, 64 << 20, key)).toString('utf8')) as Record<string, string[] | null>;
        out.push(...(page[key] ?? [])); // 2.8 answers "tags": null when there are none
        next = link;
      }
      return out.sort();
    }

    const listTags = (repo: string) => listAll(`${v2(repo, 'tags/list')}?n=1000`, 'tags');

    /**
     * 2.8 refuses DELETE by tag, and deleting by digest removes every tag of the manifest. Emulated: note
     * the manifest and the repository's other tags on it, delete by digest, then put the manifest back
     * under its digest and those other tags. Between the delete and the re-put the manifest is briefly
     * missing; the front is the upstream's only client, and tag deletes are rare.
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
      if (!(await deleteManifest(repo, m.digest))) return false;
      await putManifest(repo, m);
      for (const t of others) await putManifest(repo, m, t);
      return true;
    }

    return {
      kind: 'upstream',
      statBlob,
      readBlob,
      deleteBlob,
      mountBlob,
      createUpload,
      getUpload: async (repo, id) => {
        const s = sessions.get(repo, id);
        return s ? { id, repo, offset: s.offset } : null;
      },
      appendUpload,
      completeUpload,
      cancelUpload,
      putManifest,
      getManifest,
      deleteManifest,
      deleteTag,
      listTags,
      listRepositories: async () => (await listAll('/v2/_catalog?n=1000', 'repositories')) ?? [],
      async close() {
        sessions.close();
        await http.close();
      },
    };
  },
};
