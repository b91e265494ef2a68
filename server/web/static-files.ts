import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

/** One file of the dashboard, held in memory: the whole client is a few dozen kilobytes. */
export interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
}

/** Only these extensions are served; anything else under static/ (e.g. a type-check config) stays private. */
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Reads every servable file under `dir` once, keyed by its URL path below the mount point ("js/api.js").
 * Serving from this map, never from a path built out of the request, rules out traversal outside `dir`.
 */
export async function loadStaticFiles(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const contentType = contentTypes[extname(e.name)];
    if (!contentType) continue;
    const abs = join(e.parentPath, e.name);
    const body = new Uint8Array(await readFile(abs));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(relative(dir, abs).split(sep).join('/'), { body, contentType, etag });
  }
  return files;
}
