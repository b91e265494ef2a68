import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import { KEY_FILES } from '../attest/keys.ts';
import { loadStaticFiles, type StaticFile } from './static-files.ts';

const staticDir = fileURLToPath(new URL('./static/', import.meta.url));

/**
 * The page talks only to this origin (REST, GraphQL, /v2/); no inline script or style, no framing.
 * `img-src data:` is for nothing today but keeps a future inline icon from breaking silently.
 */
const securityHeaders: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** The web dashboard at / (owner: server/web): static HTML + ES modules + CSS from ./static, hash-routed. */
export async function createWebArea(s: { config: Config; log: Logger }): Promise<{ mount(app: Hono<AppEnv>): void }> {
  const files = await loadStaticFiles(staticDir);
  s.log.debug({ files: files.size }, 'web: dashboard files loaded');
  const index = files.get('index.html');
  if (!index) throw new Error(`web: ${staticDir}index.html is missing`);

  return {
    mount(app) {
      // Hono answers HEAD from these GET routes (same headers, no body).
      app.on('GET', ['/', '/index.html'], (c) => send(c, index));
      // The platform's public key, so the page's `cosign verify-attestation --key platform.pub` can be pasted as is.
      app.get('/web/keys/platform.pub', async (c) => {
        const pem = await readFile(join(s.config.keysDir, KEY_FILES.platformPub), 'utf8').catch(() => null);
        if (pem === null)
          return c.json(
            { error: 'not_found', detail: 'the platform key has not been created yet (aibomgen keys init)' },
            404,
          );
        c.header('Content-Type', 'application/x-pem-file');
        c.header('X-Content-Type-Options', 'nosniff');
        return c.body(pem);
      });
      app.get('/web/*', (c) => {
        const file = files.get(c.req.path.slice('/web/'.length));
        if (!file) return c.json({ error: 'not_found', detail: `no dashboard file at ${c.req.path}` }, 404);
        return send(c, file);
      });
    },
  };
}

/** Revalidated on every load (no-cache + ETag): a server upgrade never leaves a stale module mix in a browser. */
function send(c: Context<AppEnv>, file: StaticFile): Response {
  for (const [k, v] of Object.entries(securityHeaders)) c.header(k, v);
  c.header('Cache-Control', 'no-cache');
  c.header('ETag', file.etag);
  if (c.req.header('if-none-match') === file.etag) return c.body(null, 304);
  c.header('Content-Type', file.contentType);
  return c.body(file.body);
}
