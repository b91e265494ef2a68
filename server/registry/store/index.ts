import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import type { RegistryStore } from './port.ts';

/** Picks the store adapter named by the configuration. */
export async function createStore(config: Config, db: Db): Promise<RegistryStore> {
  if (config.registryStore === 'upstream') {
    const { UpstreamStore } = await import('./upstream.ts');
    return UpstreamStore.open(config, db);
  }
  const { EmbeddedStore } = await import('./embedded.ts');
  return EmbeddedStore.open(config, db);
}
