import type { Generated } from 'kysely';

/** Tables of the attest area (publication, worker keys, layouts). Owned by server/attest. */
export interface AttestTables {
  /** Who owns a model name: the first owner who published into `<trusted namespace>/<name>`. */
  attest_model_names: { repo: string; owner: string; created_at: string };
  attest_worker_keys: WorkerKeysTable;
  attest_layouts: LayoutsTable;
}

/** The state of a worker's signing key: enrolled (`pending`), approved by an administrator, or revoked. */
export type WorkerKeyState = 'pending' | 'approved' | 'revoked';

/** A worker's own signing key (P-256, public half only: the private half never leaves the worker). */
export interface WorkerKeysTable {
  /** The in-toto key id (legacy convention: the id the layout lists it under). */
  key_id: string;
  worker_id: string;
  public_pem: string;
  state: WorkerKeyState;
  enrolled_at: string;
  decided_at: string | null;
  decided_by: string | null;
}

/**
 * Every signed layout set, newest last: the root layout and each job kind's one-step layout, signed by the
 * layout (root) key. The newest row is the one in force on every node; a new row is added on each change of
 * the functionary keys (approve, revoke) and on an upload of layouts signed offline.
 */
export interface LayoutsTable {
  /** An integer primary key (SQLite's rowid): the writer gives the next number (trust-store.ts). */
  version: Generated<number>;
  created_at: string;
  /** What made this version: `start`, `approve <key id>`, `revoke <key id>`, `upload`. */
  cause: string;
  root_json: string;
  platform_json: string;
  image_json: string;
  /** The public layout key and platform key, for nodes that hold no keys directory (workers with own keys). */
  root_pem: string;
  platform_pem: string;
}
