import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { loadConfig } from '../../server/config.ts';

const root = new URL('../../', import.meta.url);
const yamlOf = async (path: string) => parse(await readFile(new URL(path, root), 'utf8')) as Record<string, unknown>;

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

// No Docker engine here: the compose file is checked for shape and for agreeing with the configs it mounts.
test('docker-compose.yml parses and wires server (upstream mode, Postgres) → distribution (S3 on MinIO), and workers', async () => {
  const compose = (await yamlOf('docker-compose.yml')) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['aibomgen', 'minio', 'minio-bucket', 'postgres', 'registry', 'worker']);
  for (const [name, svc] of Object.entries(s)) {
    assert.ok(svc.image, `${name} has an image`);
    for (const dep of Object.keys(svc.depends_on ?? {}))
      assert.ok(s[dep], `${name} depends on a defined service ${dep}`);
    for (const v of svc.volumes ?? []) {
      const named = v.split(':')[0]!;
      // Relative paths are the repository's files; absolute ones the host's (the engine socket for workers).
      if (!named.startsWith('.') && !named.startsWith('/'))
        assert.ok(named in compose.volumes, `${name}: volume ${named} is declared`);
    }
  }
  // The server's environment is one loadConfig accepts, in upstream mode with Postgres.
  const env = s.aibomgen!.environment!;
  const cfg = loadConfig(env);
  assert.equal(cfg.registryStore, 'upstream');
  assert.match(cfg.databaseUrl, /^postgres:\/\/[^@]+@postgres:5432\//);
  assert.equal(new URL(cfg.upstreamUrl!).hostname, 'registry');
  assert.deepEqual(s.aibomgen!.ports, ['8080:8080'], 'only the server is published');
  for (const name of ['registry', 'postgres', 'minio'])
    assert.equal(s[name]!.ports, undefined, `${name} is not published`);

  // Workers share with the server what a worker on another host would — database, registry — and neither a data
  // directory (the server serves only and sends job inputs through the registry) nor the keys: each worker signs
  // with its own key, in a volume of its own (an anonymous one: every replica of `--scale worker=N` has its own).
  assert.equal(cfg.role, 'api');
  assert.equal(cfg.jobInputs, 'registry');
  const w = s.worker!;
  const wcfg = loadConfig(w.environment!, { role: 'worker' });
  assert.deepEqual(
    [wcfg.databaseUrl, wcfg.upstreamUrl, wcfg.registryStore, wcfg.publicUrl],
    [cfg.databaseUrl, cfg.upstreamUrl, cfg.registryStore, cfg.publicUrl],
  );
  const mounts = (svc: ComposeService) =>
    new Map(
      (svc.volumes ?? []).map((v) => (v.includes(':') ? [v.split(':')[1]!, v.split(':')[0]!] : [v, '(anonymous)'])),
    );
  assert.equal(wcfg.workerKeys, 'own');
  assert.equal(mounts(w).get(wcfg.workerKeyDir), '(anonymous)', "each worker's key volume is its own");
  assert.ok(
    ![...mounts(w).values()].includes(mounts(s.aibomgen!).get(cfg.keysDir)!),
    'no worker mounts the platform keys',
  );
  assert.notEqual(wcfg.keysDir, cfg.keysDir);
  assert.equal(mounts(w).get(wcfg.dataDir), undefined, "the worker's data directory is its own");
  assert.deepEqual(w.command, ['node', 'cli/bin.js', 'worker']);
  assert.equal(w.depends_on?.aibomgen?.condition, 'service_healthy', "workers start once the server's npm ci is done");
  assert.match(s.aibomgen!.healthcheck!.test.join(' '), /healthz/);

  // The registry runs registry-config/s3.yml, mounted from the repository.
  const reg = s.registry!;
  assert.ok(reg.volumes!.includes('./registry-config:/etc/registry-config:ro'));
  assert.deepEqual(reg.command, ['/etc/registry-config/s3.yml']);
  const s3 = (await yamlOf('registry-config/s3.yml')) as {
    storage: { s3: Record<string, unknown>; delete: { enabled: boolean }; redirect?: { disable: boolean } };
    http: { addr: string };
  };
  assert.equal(new URL(String(s3.storage.s3.regionendpoint)).hostname, 'minio');
  assert.equal(Number(new URL(cfg.upstreamUrl!).port), Number(s3.http.addr.split(':').pop()));
  assert.equal(s3.storage.delete.enabled, true);
  // Distribution redirects blob GETs to S3 (the S3-mode tests pass them to clients); this compose file does not
  // publish MinIO, so its front relays the bytes instead.
  assert.equal(s3.storage.redirect?.disable, undefined, 'distribution answers blob GETs with pre-signed redirects');
  assert.equal(cfg.registryBlobRedirect, false, 'compose: the front follows redirects to unpublished MinIO');
  assert.ok(!('accesskey' in s3.storage.s3) && !('secretkey' in s3.storage.s3), 'S3 keys come from the environment');
  assert.ok(reg.environment!.REGISTRY_STORAGE_S3_ACCESSKEY && reg.environment!.REGISTRY_HTTP_SECRET);
  assert.equal(reg.environment!.REGISTRY_STORAGE_S3_SECRETKEY, s.minio!.environment!.MINIO_ROOT_PASSWORD);
  assert.match(
    s['minio-bucket']!.entrypoint!.join(' '),
    new RegExp(`mb --ignore-existing local/${String(s3.storage.s3.bucket)}`),
  );
});

test('registry-config/config.yml: filesystem storage, delete enabled, loopback only', async () => {
  const c = (await yamlOf('registry-config/config.yml')) as {
    storage: { filesystem: { rootdirectory: string }; delete: { enabled: boolean } };
    http: { addr: string };
  };
  assert.ok(c.storage.filesystem.rootdirectory);
  assert.equal(c.storage.delete.enabled, true);
  assert.match(c.http.addr, /^127\.0\.0\.1:\d+$/);
});
