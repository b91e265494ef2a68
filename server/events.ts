import { EventEmitter } from 'node:events';
import type { JobEvent, Publication } from './contracts.ts';

/**
 * In-process event bus between areas. The registry front emits manifest events after a change is durable;
 * the lineage index and metrics listen. Jobs emit their state/progress events here (SSE and GraphQL
 * subscriptions listen). Listeners must not throw; a slow listener must queue its own work.
 */
export interface PlatformEvents {
  'manifest.put': [{ repo: string; digest: string; mediaType: string; bytes: Uint8Array; tag?: string }];
  'manifest.delete': [{ repo: string; digest: string }];
  'tag.delete': [{ repo: string; tag: string }];
  'blob.bytes': [{ direction: 'in' | 'out'; bytes: number }];
  'job.event': [JobEvent];
  'job.published': [{ jobId: string; publication: Publication }];
}

export type EventBus = EventEmitter<PlatformEvents>;

export function createEventBus(): EventBus {
  const bus = new EventEmitter<PlatformEvents>();
  bus.setMaxListeners(0); // one listener per open SSE stream / subscription
  return bus;
}
