import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import { RegistryError } from '../errors.ts';
import type { RegistryStore } from './port.ts';

/** Placeholder until the adapter lands: every operation answers UNSUPPORTED, so nothing pretends to work. */
export const EmbeddedStore = {
  async open(_config: Config, _db: Db): Promise<RegistryStore> {
    const unsupported = async () => {
      throw new RegistryError('UNSUPPORTED', 'the embedded registry store is not implemented yet');
    };
    return new Proxy({ kind: 'embedded', close: async () => {} } as unknown as RegistryStore, {
      get: (target, prop) => (prop === 'then' ? undefined : prop in target ? target[prop as keyof RegistryStore] : unsupported),
    });
  },
};
