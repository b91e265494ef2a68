import { closeOnSignals } from './app.ts';
import { compose } from './compose.ts';
import { loadConfig } from './config.ts';

/**
 * `aibomgen worker`: a node that only runs jobs. It shares the database (Postgres for several hosts; one
 * SQLite file for several processes on one host), the registry store and the keys with the API nodes, claims
 * queued jobs with a conditional update, and publishes through its own in-process registry service (so the
 * referrers and lineage indexes see every push). It listens on no port.
 */
const config = loadConfig(process.env, { role: 'worker' });
const platform = await compose(config);
platform.log.info(
  { dataDir: config.dataDir, db: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@'), store: config.registryStore },
  'aibomgen worker running jobs',
);

closeOnSignals(platform);
