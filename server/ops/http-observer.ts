/** One finished HTTP request, as the request-log middleware saw it. */
export interface RequestRecord {
  requestId: string;
  method: string;
  path: string;
  status: number;
  ms: number;
}

/**
 * Low-cardinality class of a request path for metric labels (raw paths hold repository names, digests and
 * job ids, which would give every request its own time series).
 */
export function routeClass(path: string): string {
  if (path === '/v2' || path === '/v2/') return 'registry_base';
  if (path.startsWith('/v2/')) {
    if (path.endsWith('/_catalog') || path === '/v2/_catalog') return 'registry_catalog';
    if (/\/blobs\/uploads(\/|$)/.test(path)) return 'registry_upload';
    if (path.includes('/blobs/')) return 'registry_blob';
    if (path.includes('/manifests/')) return 'registry_manifest';
    if (path.includes('/referrers/')) return 'registry_referrers';
    if (path.endsWith('/tags/list')) return 'registry_tags';
    return 'registry_other';
  }
  if (path.startsWith('/developer/')) {
    if (path.startsWith('/developer/submit_job')) return 'developer_submit';
    if (/^\/developer\/jobs\/[^/]+\/events$/.test(path)) return 'developer_events';
    return 'developer';
  }
  if (path.startsWith('/verifier/')) return 'verifier';
  if (path.startsWith('/graphql')) return 'graphql';
  if (path === '/metrics' || path === '/healthz' || path === '/readyz') return path.slice(1);
  if (path === '/openapi.json' || path.startsWith('/docs')) return 'docs';
  return 'web';
}
