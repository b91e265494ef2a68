import { closeOnSignals, createApp, createServices } from './app.ts';
import { loadConfig } from './config.ts';

/**
 * `aibomgen worker`: a node that only runs jobs. It shares the database (Postgres for several hosts; one
 * SQLite file for several processes on one host), the data directory (job inputs) and the registry store
 * with the API nodes, claims queued jobs with a conditional update, and publishes through its own
 * in-process /v2/ front (so the referrers and lineage indexes see every push). It listens on no port.
 */
const config = loadConfig(process.env, { role: 'worker' });
const services = await createServices(config);
createApp(services); // the in-process /v2/ front the publisher pushes through
services.log.info({ dataDir: config.dataDir, db: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@'), store: config.registryStore }, 'aibomgen worker running jobs');

closeOnSignals(services);
