/**
 * The OpenAPI document served at /openapi.json against the routes the Hono app really has: every documented
 * path+method is routed, and every /developer/* and /verifier/* route is documented. Path templates are
 * compared by shape: OpenAPI `{job_id}` ≈ Hono `:id` or `*`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, FileHashVerification, JobListResponse } from '../../schema/api.ts';
import type { InTotoVerification } from '../../schema/verification.ts';
import type { InTotoVerification as AttestVerdict } from '../../server/attest/intoto-verify.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
}

const SCOPES = ['/developer/', '/verifier/'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const inScope = (path: string) => SCOPES.some((s) => path.startsWith(s));
const escapeRe = (s: string) => s.replace(/[.+?^$()|[\]\\]/g, '\\$&');

/** OpenAPI template → regex of the concrete paths it describes, and one such path. */
const docRegex = (p: string) => new RegExp(`^${escapeRe(p).replace(/\{[^}]+\}/g, '[^/]+')}$`);
const docSample = (p: string) => p.replace(/\{[^}]+\}/g, 'x1');
/** Hono pattern (`:name`, `:name{re}`, `*`) → the same. A `*` may span segments. */
const honoRegex = (p: string) =>
  new RegExp(
    `^${escapeRe(p.replace(/:\w+(\{[^}]*\})?/g, '\0').replace(/\*/g, '\x01'))
      .replace(/\0/g, '[^/]+')
      .replace(/\x01/g, '.+')}$`,
  );
const honoSample = (p: string) => p.replace(/:\w+(\{[^}]*\})?/g, 'x1').replace(/\*/g, 'x1');

// Compile-time (tsc): the attest area's in-toto verdict is the documented InTotoVerification, both ways.
const verdictTypes: [(a: AttestVerdict) => InTotoVerification, (a: InTotoVerification) => AttestVerdict] = [
  (a) => a,
  (a) => a,
];
void verdictTypes;

let srv: TestServer;
let doc: OpenApi;
/** The app's endpoints (middleware registered with `use` has method ALL and is not one). */
let routes: { method: string; path: string }[];

before(async () => {
  srv = await startTestServer({ runner: 'process' });
  const res = await fetch(`${srv.url}/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as OpenApi;
  routes = srv.app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({ method: r.method.toLowerCase(), path: r.path }));
});
after(async () => {
  await srv?.close();
});

const documented = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => METHODS.includes(m))
      .map((method) => ({ method, path })),
  );

test('every documented path and method is a route of the app', () => {
  const ops = documented();
  assert.ok(ops.length >= 15, `only ${ops.length} operations documented`);
  const missing = ops.filter(
    ({ method, path }) =>
      !routes.some((r) => r.method === method && inScope(r.path) && honoRegex(r.path).test(docSample(path))),
  );
  assert.deepEqual(missing, []);
});

test('every /developer/* and /verifier/* route of the app is documented', () => {
  const scoped = routes.filter((r) => inScope(r.path));
  assert.ok(scoped.length >= 15, `only ${scoped.length} developer/verifier routes found: did the app change shape?`);
  const ops = documented();
  const undocumented = scoped.filter(
    (r) => !ops.some((o) => o.method === r.method && docRegex(o.path).test(honoSample(r.path))),
  );
  assert.deepEqual(undocumented, []);
});

test('every $ref of the document names a component schema', () => {
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length > 20);
  assert.deepEqual(
    [...new Set(refs)].filter((r) => !(r in doc.components.schemas)),
    [],
  );
});

test('answers of the running server parse with the response schemas the document is made from', async () => {
  const list = await fetch(`${srv.url}/developer/jobs`);
  assert.equal(list.status, 200);
  JobListResponse.strict().parse(await list.json());
  const missing = await fetch(`${srv.url}/developer/job_status/x1`);
  assert.equal(missing.status, 404);
  ApiError.strict().parse(await missing.json());

  const form = new FormData();
  form.set('file', new Blob(['abc']), 'a.txt');
  form.set('expected_hash', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // sha256("abc")
  const hashed = await fetch(`${srv.url}/verifier/verify_file_hash`, { method: 'POST', body: form });
  assert.equal(hashed.status, 200);
  FileHashVerification.strict().parse(await hashed.json());
  const bad = await fetch(`${srv.url}/verifier/verify_registry_artifacts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(bad.status, 400);
  ApiError.strict().parse(await bad.json());
});
