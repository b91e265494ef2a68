import { pipeline, Readable } from 'node:stream';
import { RegistryError } from '../../errors.ts';
import type { BlobRead, BlobStat, ByteRange, ReadBlobOptions, RegistryStore, UploadState } from '../port.ts';
import { byteCounter, verifyingTee } from './digest-stream.ts';
import { expectStatus, header, type UpstreamHttp, upstreamError, type UpstreamResponse } from './http.ts';
import { blobTooLarge, capBody } from '../size-cap.ts';
import { deleteUpstream, type UploadSession, type UploadSessions } from './sessions.ts';

const OCTET = { 'content-type': 'application/octet-stream' };
const v2 = (repo: string, tail: string) => `/v2/${repo}/${tail}`;

export type UpstreamBlobs = Pick<
  RegistryStore,
  | 'statBlob'
  | 'readBlob'
  | 'deleteBlob'
  | 'mountBlob'
  | 'createUpload'
  | 'getUpload'
  | 'appendUpload'
  | 'completeUpload'
  | 'cancelUpload'
>;

/** The owner of sessions the front opens for itself (a mount copied, a sha512 manifest stored as a blob). */
export const FRONT_OWNER = '(registry front)';

/**
 * Blobs and upload sessions on a distribution 2.8 upstream, streamed both ways. Chunk order is enforced
 * here (2.8 ignores Content-Range and appends whatever arrives); a monolithic upload is POST + PATCH + PUT
 * (2.8 drops the body of `POST ?digest=`); bodies go as application/octet-stream (2.8 parses anything
 * else as a form). Pushed content is not hashed here: the upstream hashes every byte as it stores it and
 * refuses to commit under a digest that does not match; the front then deletes the upload session (2.8
 * keeps a refused upload's data otherwise — measured), so a refused push leaves nothing behind either way.
 */
export function upstreamBlobs(http: UpstreamHttp, sessions: UploadSessions, maxBlobBytes: number): UpstreamBlobs {
  async function statBlob(repo: string, digest: string): Promise<BlobStat | null> {
    let res = await http.call('HEAD', v2(repo, `blobs/${digest}`));
    // On S3, distribution answers a blob HEAD with a redirect too: the object store gives the size.
    const redirect = res.statusCode === 307 || res.statusCode === 302 ? header(res, 'location') : undefined;
    if (redirect) {
      await res.body.dump();
      res = await http.call('HEAD', http.url(redirect));
    }
    if (res.statusCode !== 200 && res.statusCode !== 404) throw await upstreamError(res, `HEAD blob ${digest}`);
    await res.body.dump();
    if (res.statusCode === 404) return null;
    return { digest, size: Number(header(res, 'content-length') ?? 0) };
  }

  async function readBlob(
    repo: string,
    digest: string,
    range?: ByteRange,
    opts: ReadBlobOptions = {},
  ): Promise<BlobRead | null> {
    if (range && range.start > range.end)
      throw new RegistryError('RANGE_INVALID', `range ${range.start}-${range.end} is empty`);
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${range.start}-${range.end >= Number.MAX_SAFE_INTEGER ? '' : range.end}`;
    let res = await http.call('GET', v2(repo, `blobs/${digest}`), { headers });
    // A storage driver with redirects (S3) answers 307 to a pre-signed backend URL. An HTTP client gets that URL
    // (the bytes then never pass through this process: Node has no sendfile, and the client checks the digest
    // itself); an in-process reader gets the bytes: the redirect is followed once, without our headers.
    const redirect = res.statusCode === 307 || res.statusCode === 302 ? header(res, 'location') : undefined;
    if (redirect) {
      await res.body.dump();
      const location = http.url(redirect);
      if (opts.redirect) return { digest, size: 0, redirect: location.toString(), body: Readable.from([]) };
      res = await http.call('GET', location, { headers });
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
    await expectStatus(res, [202], `DELETE blob ${digest}`);
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
      if (loc)
        await http.call('DELETE', http.url(loc)).then(
          (r) => r.body.dump(),
          () => {},
        );
    } else throw await upstreamError(res, `mount ${digest} from ${from}`);
    // When `from` does have the blob, the bytes are copied (streamed, verified) instead.
    const source = await readBlob(from, digest);
    if (!source) return null;
    const u = await createUpload(repo, FRONT_OWNER);
    return completeUpload(repo, u.id, digest, source.body);
  }

  async function createUpload(repo: string, owner: string): Promise<UploadState> {
    const s = await sessions.open(owner, async () => {
      const res = await http.call('POST', v2(repo, 'blobs/uploads/'));
      const loc = header(res, 'location');
      const id = header(res, 'docker-upload-uuid');
      if (res.statusCode !== 202 || !loc || !id) throw await upstreamError(res, `start upload to ${repo}`);
      await res.body.dump();
      return { id, repo, owner, location: http.url(loc).toString(), offset: 0, lastUsed: Date.now(), busy: false };
    });
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

  /** Runs `fn` holding the session; a request on it while another runs is refused (409, see SessionTable). */
  function inTurn<T>(s: UploadSession, body: Readable | undefined, fn: () => Promise<T>): Promise<T> {
    return sessions.exclusive(s, body, fn);
  }

  /** Ends a session for good (after a failure or a cancel): forgets it and deletes it upstream. */
  async function abandon(s: UploadSession): Promise<void> {
    sessions.drop(s.id);
    await deleteUpstream(http, s);
  }

  /**
   * PATCHes `body` onto the session, counting its bytes; the session dies if the transfer fails. Keeps the
   * new Location (2.8 refuses the next request with a stale `_state`).
   */
  async function patch(s: UploadSession, body: Readable): Promise<void> {
    let added = 0;
    // Past the size cap nothing more goes upstream; the session is then deleted and the request refused.
    const capped = capBody(body, maxBlobBytes - s.offset);
    const streamed = pipeline(
      capped.stream,
      byteCounter((n) => (added += n)),
      () => {},
    );
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
    if (capped.over()) {
      await abandon(s);
      throw blobTooLarge(maxBlobBytes);
    }
  }

  async function appendUpload(repo: string, id: string, body: Readable, start?: number): Promise<UploadState> {
    const s = session(repo, id, body);
    return inTurn(s, body, async () => {
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
   * A final body goes as one more PATCH, then the PUT names the digest and the upstream checks it against
   * what it stored. A refusal (DIGEST_INVALID, passed on with the upstream's detail) or any other failure
   * deletes the session upstream, so nothing of a refused blob stays.
   */
  async function completeUpload(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat> {
    const s = session(repo, id, body);
    return inTurn(s, body, async () => {
      if (body) await patch(s, body);
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
    await inTurn(s, undefined, () => abandon(s));
    return true;
  }

  return {
    statBlob,
    readBlob,
    deleteBlob,
    mountBlob,
    createUpload,
    async getUpload(repo, id) {
      const s = sessions.get(repo, id);
      return s ? { id, repo, offset: s.offset } : null;
    },
    appendUpload,
    completeUpload,
    cancelUpload,
  };
}
