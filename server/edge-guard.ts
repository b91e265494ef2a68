import type { MiddlewareHandler } from 'hono';
import type { Config } from './config.ts';
import type { AppEnv } from './context.ts';
import { SAFE_SERVING_HEADERS } from './registry/safety.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** host[:port] → lower case, default port dropped, for comparison. */
function normalise(hostPort: string): string {
  return hostPort
    .trim()
    .toLowerCase()
    .replace(/:(80|443)$/, '');
}

/**
 * The host names this server answers to: the public URL's, AIBOMGEN_ALLOWED_HOSTS, and — when it listens on a
 * loopback address — the loopback names at its port. Undefined when it listens on all interfaces with neither
 * configured: then any Host is accepted (a deployment behind its own proxy; say so with AIBOMGEN_PUBLIC_URL).
 */
export function allowedHosts(
  config: Pick<Config, 'host' | 'port' | 'publicUrl' | 'allowedHosts'>,
): Set<string> | undefined {
  const hosts = new Set<string>();
  if (config.publicUrl) hosts.add(normalise(new URL(config.publicUrl).host));
  for (const h of (config.allowedHosts ?? '').split(',')) if (h.trim()) hosts.add(normalise(h));
  if (LOOPBACK.test(config.host)) {
    for (const name of ['127.0.0.1', 'localhost', '[::1]', config.host]) hosts.add(normalise(`${name}:${config.port}`));
  } else if (config.host !== '0.0.0.0' && config.host !== '::') hosts.add(normalise(`${config.host}:${config.port}`));
  return hosts.size > 0 ? hosts : undefined;
}

/**
 * Browser safety at the edge, before any route:
 * - DNS rebinding: a request whose Host is not one of this server's names is refused (421), so a page on
 *   another site whose name resolves to 127.0.0.1 cannot talk to a local install;
 * - cross-site requests that change state are refused (403): a browser marks them with `Sec-Fetch-Site`
 *   (cross-site / same-site) and an `Origin` that is not this server's. Clients that are not browsers (the
 *   CLI, oras, cosign, curl) send neither and are unaffected; the dashboard is same-origin.
 * Requests made in process (no socket: tests, benches) are not browsers and pass.
 */
export function edgeGuard(config: Config): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.env?.incoming) return next();
    // The port the request really reached (PORT=0 picks one at listen time, after the config was read).
    const port = c.env.incoming.socket?.localPort ?? config.port;
    const hosts = allowedHosts({ ...config, port });
    const host = c.req.header('host');
    if (hosts && (!host || !hosts.has(normalise(host)))) {
      for (const [k, v] of Object.entries(SAFE_SERVING_HEADERS)) c.header(k, v);
      return c.json(
        {
          error: 'misdirected_request',
          detail: `this server does not answer to the host name ${JSON.stringify(host ?? '')} (AIBOMGEN_ALLOWED_HOSTS, AIBOMGEN_PUBLIC_URL)`,
        },
        421,
      );
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      const sameOrigin =
        origin !== undefined &&
        origin !== 'null' &&
        host !== undefined &&
        normalise(safeHost(origin)) === normalise(host);
      if ((site && site !== 'same-origin' && site !== 'none') || (origin !== undefined && !sameOrigin)) {
        for (const [k, v] of Object.entries(SAFE_SERVING_HEADERS)) c.header(k, v);
        return c.json(
          {
            error: 'cross_origin_refused',
            detail: `a ${c.req.method} from another origin (${origin ?? site}) is refused: state changes come from this server's own pages or from API clients`,
          },
          403,
        );
      }
    }
    return next();
  };
}

function safeHost(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return '';
  }
}
