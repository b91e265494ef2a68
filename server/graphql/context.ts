import type { Caller } from '../identity.ts';
import type { LineageIndex } from '../lineage/area.ts';
import type { GqlDeps } from './deps.ts';
import type { Loaders } from './loaders.ts';

export type { GqlDeps } from './deps.ts';

/** Per-request GraphQL context. */
export interface GqlContext {
  s: GqlDeps;
  index: LineageIndex;
  loaders: Loaders;
  /** The incoming HTTP request. */
  request: Request;
  /** Who is asking (set by the identify middleware): registry writes (aliases) are made as this caller. */
  caller: Caller;
}
