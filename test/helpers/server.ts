import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import pino from 'pino';
import type { Hono } from 'hono';
import { createApp } from '../../server/app.ts';
import { ADMIN_TOKEN_FILE } from '../../server/auth/bootstrap.ts';
import { compose, type Platform } from '../../server/compose.ts';
import { loadConfig, type ConfigSchema } from '../../server/config.ts';
import type { AppEnv } from '../../server/context.ts';
import type { z } from 'zod';

export interface TestServer {
  url: string;
  /** host:port, as registry clients want it. */
  hostPort: string;
  dataDir: string;
  /** The composed platform (every service, typed). */
  services: Platform;
  /** The Hono app serving it (its routes, or `app.fetch` for requests without a socket). */
  app: Hono<AppEnv>;
  /** The administrator token the first start made (auth on without AIBOMGEN_TOKENS), else undefined. */
  adminToken?: string;
  close(): Promise<void>;
}

/**
 * Starts the real server in this process on a free loopback port with a fresh data directory. Auth is off unless
 * the test asks for it (`tokens`, or `auth: 'on'`, which makes the first start's administrator token: `adminToken`).
 */
export async function startTestServer(overrides: Partial<z.input<typeof ConfigSchema>> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-test-'));
  const auth = overrides.auth ?? (overrides.tokens ? 'on' : 'off');
  const config = loadConfig({}, { dataDir, port: 0, host: '127.0.0.1', auth, ...overrides });
  const services = await compose(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  const app = createApp(services);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  services.config.port = port; // the port really listened on (references printed by the publisher use it)
  const adminFile = join(config.keysDir, ADMIN_TOKEN_FILE);
  const adminToken = existsSync(adminFile) ? readFileSync(adminFile, 'utf8').trim() : undefined;
  return {
    ...(adminToken ? { adminToken } : {}),
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    dataDir,
    services,
    app,
    async close() {
      // Connections still open (an unread response body, an SSE stream) would keep close() waiting for ever.
      const closed = new Promise<void>((r) => server.close(() => r()));
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
