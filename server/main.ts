import { serve } from '@hono/node-server';
import { closeOnSignals, createApp } from './app.ts';
import { compose } from './compose.ts';
import { loadConfig } from './config.ts';

/** `npm start`: the server with embedded defaults (data under ./data, SQLite, embedded registry store). */
const config = loadConfig();
const platform = await compose(config);
const server = serve({ fetch: createApp(platform).fetch, port: config.port, hostname: config.host }, (info) => {
  config.port = info.port; // PORT=0 picks a free port: references printed from now on use the real one
  platform.log.info(
    { url: `http://${config.host}:${info.port}`, store: config.registryStore, dataDir: config.dataDir },
    'aibomgen server listening',
  );
});

closeOnSignals(platform, () => server.close());
