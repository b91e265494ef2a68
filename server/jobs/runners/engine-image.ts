import type Docker from 'dockerode';

/** The image's inspect data, pulling it first when the engine lacks it (e.g. a trainer image in our registry). */
export async function ensureImage(docker: Docker, runtime: string, image: string): Promise<Docker.ImageInspectInfo> {
  const have = await docker
    .getImage(image)
    .inspect()
    .catch(() => undefined);
  if (have) return have;
  const registry = image.includes('/') ? image.split('/')[0]! : '';
  // A loopback registry (this platform on 127.0.0.1) speaks plain HTTP; Docker allows that for 127.0.0.0/8
  // by default, podman needs tlsVerify=false on its own pull endpoint.
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(registry);
  const podman = /^podman (\S+)/.exec(runtime)?.[1];
  // libpod routes need the version prefix (an unversioned /libpod/… answers 404).
  // docker-modem builds the query from `options` (a path ending in '?' marks where it goes).
  const [path, options] = podman
    ? [`/v${podman}/libpod/images/pull?`, { reference: image, tlsVerify: String(!loopback) }]
    : ['/images/create?', { fromImage: image }];
  const body = await new Promise<string>((resolve) => {
    docker.modem.dial(
      {
        path,
        options,
        method: 'POST',
        isStream: true,
        statusCodes: { 200: true, 404: 'no such image', 500: 'server error' },
      },
      (err, stream) => {
        if (err)
          return resolve(
            String((err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? err),
          );
        let text = '';
        const s = stream as NodeJS.ReadableStream;
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => resolve(text));
        s.on('error', (e) => resolve(String(e)));
      },
    );
  });
  // Pull failures are reported inside the progress stream, not as an HTTP error (FACTS.md).
  const pulled = await docker
    .getImage(image)
    .inspect()
    .catch(() => undefined);
  if (!pulled)
    throw new Error(
      `image ${image} could not be pulled: ${(/"error(?:Message)?"\s*:\s*"([^"]+)"/.exec(body)?.[1] ?? body.slice(0, 300)).trim()}`,
    );
  return pulled;
}
