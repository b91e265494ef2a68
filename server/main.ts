import { serve } from '@hono/node-server';
import { closeOnSignals, createApp, createServices } from './app.ts';
import { loadConfig } from './config.ts';

/** `npm start`: the server with embedded defaults (data under ./data, SQLite, embedded registry store). */
const config = loadConfig();
const services = await createServices(config);
const app = createApp(services);
const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  config.port = info.port; // PORT=0 picks a free port: references printed from now on use the real one
  services.log.info({ url: `http://${config.host}:${info.port}`, store: config.registryStore, dataDir: config.dataDir }, 'aibomgen server listening');
});

closeOnSignals(services, () => server.close());
