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
  // The token flow's challenge names the scope the action needs; over HTTP its realm is made absolute (the
  // in-process check knows no request).
  const challenge = (actions: string, realm = '/token') =>
    `Bearer realm="${realm}",service="aibomgen",scope="repository:access/m:${actions}"`;
  assert.deepEqual(inProcess, { status: 401, code: 'UNAUTHORIZED', challenge: challenge('pull,push') });
  // The target checks whether the blob exists first: refused the same way, for the pull that needs.
  assert.deepEqual(viaTarget, { ...inProcess, challenge: challenge('pull') });
  assert.deepEqual(http, { ...inProcess, challenge: challenge('pull,push', `${srv.url}/token`) });
  assert.equal(await registry.statBlob(PLATFORM, 'access/m', digest), null, 'nothing stored');

  // Manifests, tags, deletes and reads: the same check, the same answer (for the scope each needs).
  assert.deepEqual(await refusal(registry.putManifest(ANONYMOUS, 'access/m', 'v1', manifest)), inProcess);
  const del = await refusal(registry.deleteManifest(ANONYMOUS, 'access/m', 'v1'));
  assert.deepEqual(del, { ...inProcess, challenge: challenge('delete') });
  assert.deepEqual(await refusal(registry.getManifest(ANONYMOUS, 'access/m', 'v1')), {
    ...inProcess,
    challenge: challenge('pull'),
  });
  assert.deepEqual(await httpRefusal(await fetch(`${srv.url}/v2/access/m/manifests/v1`)), {
    ...inProcess,
    challenge: challenge('pull', `${srv.url}/token`),
  });
});

test('a user (in their own namespace) and the platform pass the same check in process; elsewhere the user is DENIED like over HTTP', async () => {
  const registry = srv.services.registry;
  await registry.as(userCaller('alice')).pushBlob('alice/m', payload, 'application/octet-stream');
  assert.equal((await registry.statBlob(PLATFORM, 'alice/m', digest))?.size, payload.length);
  const put = await registry.putManifest(PLATFORM, 'alice/m', 'v1', manifest);
  const res = await fetch(`${srv.url}/v2/alice/m/manifests/v1`, {
    headers: { authorization: 'Bearer s3cret-1', accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), put.digest);
  // Outside her namespace: the same DENIED in process and over HTTP, and nothing stored.
  const inProcess = await refusal(registry.putManifest(userCaller('alice'), 'models/m', 'v1', manifest));
  const http = await httpRefusal(
    await fetch(`${srv.url}/v2/models/m/manifests/v1`, {
      method: 'PUT',
      body: manifest,
      headers: { authorization: 'Bearer s3cret-1', 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    }),
  );
  assert.deepEqual(inProcess, { status: 403, code: 'DENIED', challenge: undefined });
  assert.deepEqual(http, { ...inProcess, challenge: undefined });
  assert.equal(await registry.getManifest(PLATFORM, 'models/m', 'v1'), null);
});
