import type { Services } from '../context.ts';
import type { LineageIndex } from '../lineage/area.ts';
import type { Loaders } from './loaders.ts';

/** Per-request GraphQL context. */
export interface GqlContext {
  s: Services;
  index: LineageIndex | undefined;
  loaders: Loaders;
  /** The incoming HTTP request (headers are forwarded to the REST endpoints a mutation calls). */
  request: Request;
}
