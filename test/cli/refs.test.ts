import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelRef } from '../../cli/registry.ts';
import { parseReference, registryUrl } from '../../schema/reference.ts';

const P = 'http://127.0.0.1:8080';
const D = `sha256:${'ab'.repeat(32)}`;

test('model references: host or not, tag or digest, which registry and scheme, whether it is the platform', () => {
  const cases: [string, Partial<ReturnType<typeof parseModelRef>>][] = [
    [
      'models/iris:1.0.0',
      { registry: P, repo: 'models/iris', reference: '1.0.0', short: 'models/iris:1.0.0', onPlatform: true },
    ],
    ['models/iris', { repo: 'models/iris', reference: 'latest' }],
    [`models/iris@${D}`, { reference: D, short: `models/iris@${D}` }],
    ['127.0.0.1:8080/models/iris:1.0.0', { registry: P, repo: 'models/iris', onPlatform: true }],
    ['127.0.0.1:9999/models/iris:1.0.0', { registry: 'http://127.0.0.1:9999', onPlatform: false }],
    ['localhost:5000/a/b:c', { registry: 'http://localhost:5000', repo: 'a/b', reference: 'c' }],
    ['0.0.0.0:8080/models/x:1', { registry: 'http://0.0.0.0:8080' }],
    ['registry.example.org/models/iris:2', { registry: 'https://registry.example.org', onPlatform: false }],
    ['oci://registry.example.org/models/iris:2', { registry: 'https://registry.example.org', repo: 'models/iris' }],
  ];
  for (const [ref, want] of cases) {
    const got = parseModelRef(ref, P);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${ref}: ${k}`);
  }
  assert.equal(parseModelRef('registry.example.org/m:1', P, true).registry, 'http://registry.example.org');
});

test('bad references are usage errors naming the problem', () => {
  for (const [ref, msg] of [
    ['Models/Iris:1', /repository "Models\/Iris"/],
    ['models/iris@sha256:abc', /bad tag or digest/],
    ['models/iris:bad tag', /bad tag or digest/],
    ['models//iris:1', /not a valid OCI name/],
  ] as const) {
    assert.throws(
      () => parseModelRef(ref, P),
      (e: Error & { exitCode?: number }) => e.exitCode === 2 && msg.test(e.message),
      ref,
    );
  }
});

test('the one reference parser (schema/reference.ts): host, repository, tag or digest; never throws', () => {
  assert.deepEqual(parseReference(`oci://localhost:5000/a/b@${D}`), {
    host: 'localhost:5000',
    repo: 'a/b',
    reference: D,
    byDigest: true,
    short: `a/b@${D}`,
  });
  assert.deepEqual(parseReference(' models/iris '), {
    repo: 'models/iris',
    reference: 'latest',
    byDigest: false,
    short: 'models/iris:latest',
  });
  assert.equal(parseReference(`m@sha512:${'c'.repeat(128)}`).invalid, undefined);
  assert.match(parseReference('models/iris@latest').invalid ?? '', /bad tag or digest/);
  assert.match(parseReference('Models/Iris').invalid ?? '', /not a valid OCI name/);
  assert.equal(registryUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryUrl('[::1]:5000'), 'http://[::1]:5000');
  assert.equal(registryUrl('registry.example.org'), 'https://registry.example.org');
  assert.equal(registryUrl('registry.example.org', true), 'http://registry.example.org');
});
