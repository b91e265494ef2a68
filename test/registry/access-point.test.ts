/**
 * The registry's access check is one function on every path: the in-process service (what the publisher, job
 * inputs, the verifier and GraphQL call) refuses a caller exactly as the /v2/ route does, and stores nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ANONYMOUS, PLATFORM, userCaller } from '../../server/identity.ts';
import { RegistryError } from '../../server/registry/errors.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
const payload = Buffer.from('bytes pushed in process\n');
const digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest, size: payload.length },
    layers: [],
  }),
);

before(async () => {
  srv = await startTestServer({ tokens: 'alice:s3cret-1', anonymousPull: 'false' });
});
after(async () => srv?.close());

/** The refusal as `{status, code, message}`, from an in-process call or an HTTP response. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; challenge?: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RegistryError, `a RegistryError, got ${String(e)}`);
    return { status: e.status, code: e.code, challenge: e.headers['WWW-Authenticate'] };
  }
  assert.fail('the call was not refused');
}
async function httpRefusal(res: Response): Promise<{ status: number; code: string; challenge?: string }> {
  const body = (await res.json()) as { errors: { code: string }[] };
  return {
    status: res.status,
    code: body.errors[0]!.code,
    challenge: res.headers.get('www-authenticate') ?? undefined,
  };
}

test('an anonymous in-process push gets the refusal the /v2/ route gives, and nothing is stored', async () => {
  const registry = srv.services.registry;
  const inProcess = await refusal(registry.pushBlob(ANONYMOUS, 'access/m', digest, Readable.from([payload])));
  const viaTarget = await refusal(registry.as(ANONYMOUS).pushBlob('access/m', payload, 'application/octet-stream'));
  const http = await httpRefusal(
    await fetch(`${srv.url}/v2/access/m/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/octet-stream' },
    }),
  );
  assert.deepEqual(inProcess, {
    status: 401,
    code: 'UNAUTHORIZED',
    challenge: 'Basic realm="aibomgen", charset="UTF-8"',
  });
  assert.deepEqual(viaTarget, inProcess);
  assert.deepEqual(http, inProcess);
  assert.equal(await registry.statBlob(PLATFORM, 'access/m', digest), null, 'nothing stored');

  // Manifests, tags, deletes and reads: the same check, the same answer.
  assert.deepEqual(await refusal(registry.putManifest(ANONYMOUS, 'access/m', 'v1', manifest)), inProcess);
  assert.deepEqual(await refusal(registry.deleteManifest(ANONYMOUS, 'access/m', 'v1')), inProcess);
  assert.deepEqual(await refusal(registry.getManifest(ANONYMOUS, 'access/m', 'v1')), inProcess);
  assert.deepEqual(await httpRefusal(await fetch(`${srv.url}/v2/access/m/manifests/v1`)), inProcess);
});

test('a user and the platform pass the same check in process', async () => {
  const registry = srv.services.registry;
  await registry.as(userCaller('alice')).pushBlob('access/m', payload, 'application/octet-stream');
  assert.equal((await registry.statBlob(PLATFORM, 'access/m', digest))?.size, payload.length);
  const put = await registry.putManifest(PLATFORM, 'access/m', 'v1', manifest);
  const res = await fetch(`${srv.url}/v2/access/m/manifests/v1`, {
    headers: { authorization: 'Bearer s3cret-1', accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), put.digest);
});
