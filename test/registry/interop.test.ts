import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MediaType } from '../../schema/media-types.ts';
import { startFront, storeModes } from './front-modes.ts';

/** Runs a real CLI; rejects with its stderr so a failure says why. */
function cli(cmd: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

for (const mode of storeModes) {
  test(`oras push / pull / attach / discover / manifest fetch / manifest delete through the front (${mode})`, async () => {
    const front = await startFront(mode);
    const dir = await mkdtemp(join(tmpdir(), 'oras-'));
    try {
      const ref = `${front.srv.hostPort}/interop/oras:v1`;
      await mkdir(join(dir, 'in'));
      const files = { 'model.bin': randomBytes(3 * 1024 * 1024 + 11), 'README.md': Buffer.from('# a model\n') };
      for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, 'in', name), bytes);
      const pushed = JSON.parse(
        await cli(
          'oras',
          [
            'push',
            '--plain-http',
            '--format',
            'json',
            '--artifact-type',
            'application/vnd.test.model',
            ref,
            'model.bin:application/vnd.cncf.model.weight.v1.raw',
            'README.md:text/markdown',
          ],
          join(dir, 'in'),
        ),
      ) as { digest: string };

      await cli('oras', ['pull', '--plain-http', '-o', join(dir, 'out'), ref]);
      for (const [name, bytes] of Object.entries(files))
        assert.ok((await readFile(join(dir, 'out', name))).equals(bytes), `${name} pulled byte-identical`);

      const fetched = await cli('oras', ['manifest', 'fetch', '--plain-http', ref]);
      assert.equal(sha256(Buffer.from(fetched)), pushed.digest, 'oras manifest fetch returns the pushed bytes');
      assert.equal((JSON.parse(fetched) as { artifactType: string }).artifactType, 'application/vnd.test.model');

      await writeFile(join(dir, 'in', 'sig.json'), '{"sig":"x"}');
      const attached = JSON.parse(
        await cli(
          'oras',
          [
            'attach',
            '--plain-http',
            '--format',
            'json',
            '--artifact-type',
            'application/vnd.test.signature',
            ref,
            'sig.json:application/json',
          ],
          join(dir, 'in'),
        ),
      ) as { digest: string };
      const discovered = await cli('oras', ['discover', '--plain-http', '--format', 'json', ref]);
      assert.ok(discovered.includes(attached.digest), `oras discover lists the referrer: ${discovered}`);
      assert.ok(discovered.includes('application/vnd.test.signature'));
      const filtered = await cli('oras', [
        'discover',
        '--plain-http',
        '--format',
        'json',
        '--artifact-type',
        'application/vnd.other',
        ref,
      ]);
      assert.ok(!filtered.includes(attached.digest), 'artifactType filter excludes it');
      // The front answers the referrers API itself in both modes (distribution 2.8 has none).
      const api = (await (await fetch(`${front.srv.url}/v2/interop/oras/referrers/${pushed.digest}`)).json()) as {
        manifests: { digest: string }[];
      };
      assert.deepEqual(
        api.manifests.map((m) => m.digest),
        [attached.digest],
      );

      await cli('oras', [
        'manifest',
        'delete',
        '--plain-http',
        '--force',
        `${front.srv.hostPort}/interop/oras@${attached.digest}`,
      ]);
      const after = (await (await fetch(`${front.srv.url}/v2/interop/oras/referrers/${pushed.digest}`)).json()) as {
        manifests: unknown[];
      };
      assert.deepEqual(after.manifests, [], 'a deleted referrer leaves the referrers index');
      await cli('oras', ['manifest', 'delete', '--plain-http', '--force', ref]);
      await assert.rejects(cli('oras', ['manifest', 'fetch', '--plain-http', ref]), /not found/i);
    } finally {
      await front.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`skopeo copy of an OCI layout into the front and back out, byte-identical (${mode})`, async () => {
    const front = await startFront(mode);
    const dir = await mkdtemp(join(tmpdir(), 'skopeo-'));
    try {
      const src = join(dir, 'src');
      const blobs = await writeOciLayout(src);
      const dest = `docker://${front.srv.hostPort}/interop/skopeo:v1`;
      await cli('skopeo', [
        '--insecure-policy',
        'copy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${src}:latest`,
        dest,
      ]);
      await cli('skopeo', [
        '--insecure-policy',
        'copy',
        '--preserve-digests',
        '--src-tls-verify=false',
        dest,
        `oci:${join(dir, 'back')}:latest`,
      ]);
      const back = JSON.parse(await readFile(join(dir, 'back', 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      assert.equal(back.manifests[0]!.digest, blobs.manifest, 'the manifest came back under its digest');
      const got = await readdir(join(dir, 'back', 'blobs', 'sha256'));
      for (const d of [blobs.manifest, blobs.config, blobs.layer]) {
        const hex = d.slice(7);
        assert.ok(got.includes(hex), `blob ${d} came back`);
        assert.ok(
          (await readFile(join(dir, 'back', 'blobs', 'sha256', hex))).equals(
            await readFile(join(src, 'blobs', 'sha256', hex)),
          ),
          `${d} byte-identical`,
        );
      }
    } finally {
      await front.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** A one-layer image in OCI image-layout form, built by hand (tar + gzip, config, manifest, index). */
async function writeOciLayout(dir: string): Promise<{ manifest: string; config: string; layer: string }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const d = sha256(bytes);
    await writeFile(join(dir, 'blobs', 'sha256', d.slice(7)), bytes);
    return d;
  };
  const tar = tarOf('hello.txt', Buffer.from('hello from an OCI layout\n'));
  const gz = gzipSync(tar);
  const layer = await put(gz);
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      config: {},
    }),
  );
  const config = await put(configBytes);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config, size: configBytes.length },
      layers: [{ mediaType: MediaType.ociLayerTarGzip, digest: layer, size: gz.length }],
    }),
  );
  const manifest = await put(manifestBytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        {
          mediaType: MediaType.ociManifest,
          digest: manifest,
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  return { manifest, config, layer };
}

/** A ustar archive holding one regular file. */
function tarOf(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  const field = (s: string, off: number, len: number) => h.write(s.padEnd(len, '\0').slice(0, len), off, 'latin1');
  const octal = (n: number, len: number) => `${n.toString(8).padStart(len - 1, '0')}\0`;
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(content.length, 12), 124, 12);
  field(octal(0, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  field(`${octal(sum, 7)} `, 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad, Buffer.alloc(1024)]);
}
