import { join } from 'node:path';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import { RegistryError } from '../errors.ts';
import { BlobFiles } from './blob-files.ts';
import type { RegistryStore } from './port.ts';

/**
 * The embedded store: blobs and uploads as files under `<dataDir>/registry` (see blob-files.ts).
 * Manifests and tags (metadata in the database) are not implemented yet: they answer UNSUPPORTED
 * so nothing pretends to work.
 */
export const EmbeddedStore = {
  async open(config: Config, _db: Db): Promise<RegistryStore> {
    const files = new BlobFiles(join(config.dataDir, 'registry'));
    const unsupported = async (): Promise<never> => {
      throw new RegistryError('UNSUPPORTED', 'manifests and tags of the embedded registry store are not implemented yet');
    };
    return {
      kind: 'embedded',
      statBlob: (repo, digest) => files.stat(repo, digest),
      readBlob: (repo, digest, range) => files.read(repo, digest, range),
      deleteBlob: (repo, digest) => files.unlink(repo, digest),
      mountBlob: (repo, from, digest) => files.mount(repo, from, digest),
      createUpload: (repo) => files.createUpload(repo),
      getUpload: (repo, id) => files.getUpload(repo, id),
      appendUpload: (repo, id, body, start) => files.append(repo, id, body, start),
      completeUpload: (repo, id, digest, body) => files.complete(repo, id, digest, body),
      cancelUpload: (repo, id) => files.cancel(repo, id),
      putManifest: unsupported,
      getManifest: unsupported,
      deleteManifest: unsupported,
      deleteTag: unsupported,
      listTags: unsupported,
      listRepositories: unsupported,
      close: async () => {},
    };
  },
};
