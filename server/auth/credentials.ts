/** The token of `Authorization: Bearer <token>`, or undefined. */
export function parseBearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** user and password of `Authorization: Basic base64(user:password)` (what oras/cosign/skopeo/docker login send). */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const pair = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = pair.indexOf(':');
  if (i <= 0) return undefined;
  return { user: pair.slice(0, i), password: pair.slice(i + 1) };
}
