/**
 * Worker keys and layouts over REST.
 * - `/developer/admin/worker-keys` (administrators): list, approve, revoke; the layout draft an offline root key
 *   signs, and the upload of layouts signed that way.
 * - `/verifier/layouts/<name>.layout` and `/verifier/keys/…` (public trust material, like /web/keys/platform.pub):
 *   the layouts in force and the keys they rest on, for in-toto-verify and cosign on any machine.
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../context.ts';
import { type Caller, isAdmin } from '../identity.ts';
import { inTotoKey, keyIds } from './ecdsa.ts';
import { LAYOUT_NAMES, type LayoutName, type LayoutSet, type TrustStore } from './trust-store.ts';
import { WorkerKeyError, type WorkerKeys } from './worker-keys.ts';

export interface WorkerKeyRouteDeps {
  keys: WorkerKeys;
  trust: TrustStore;
  authEnabled: boolean;
  /** After a revocation (the key's public PEM): the lineage index stops counting what the key signed. */
  revoked?: (publicPem: string) => Promise<void>;
}

const MAX_LAYOUTS_BYTES = 1024 * 1024;

function actor(c: Caller): string {
  return c.kind === 'user' ? c.owner : c.kind;
}

export function mountWorkerKeyRoutes(app: Hono<AppEnv>, d: WorkerKeyRouteDeps): void {
  const admin = (c: Context<AppEnv>): Response | undefined => {
    const caller = c.get('caller');
    if (!d.authEnabled || isAdmin(caller)) return undefined;
    return caller.kind === 'anonymous'
      ? c.json({ error: 'unauthorized', detail: 'worker keys are managed by administrators: send an API token' }, 401)
      : c.json({ error: 'forbidden', detail: 'worker keys are managed by administrators' }, 403);
  };
  const fail = (c: Context<AppEnv>, e: unknown): Response => {
    if (e instanceof WorkerKeyError)
      return c.json({ error: e.status === 404 ? 'not_found' : 'invalid_request', detail: e.message }, e.status);
    throw e;
  };

  app.get('/developer/admin/worker-keys', async (c) => {
    const refused = admin(c);
    if (refused) return refused;
    return c.json({ keys: await d.keys.list() });
  });
  for (const action of ['approve', 'revoke'] as const)
    app.post(`/developer/admin/worker-keys/:ref/${action}`, async (c) => {
      const refused = admin(c);
      if (refused) return refused;
      try {
        const by = actor(c.get('caller'));
        const change =
          action === 'approve'
            ? await d.keys.approve(c.req.param('ref'), by)
            : await d.keys.revoke(c.req.param('ref'), by);
        if (action === 'revoke') await d.revoked?.(change.key.publicPem);
        return c.json(change);
      } catch (e) {
        return fail(c, e);
      }
    });
  app.get('/developer/admin/layout/draft', async (c) => {
    const refused = admin(c);
    if (refused) return refused;
    return c.json(await d.keys.draft());
  });
  app.put(
    '/developer/admin/layout',
    bodyLimit({
      maxSize: MAX_LAYOUTS_BYTES,
      onError: (c) =>
        c.json({ error: 'payload_too_large', detail: `signed layouts are at most ${MAX_LAYOUTS_BYTES} bytes` }, 413),
    }),
    async (c) => {
      const refused = admin(c);
      if (refused) return refused;
      const body = (await c.req.json().catch(() => undefined)) as unknown;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return c.json(
          { error: 'invalid_request', detail: `expected {${LAYOUT_NAMES.join(', ')}}: signed layouts` },
          400,
        );
      try {
        const version = await d.keys.upload(body as Partial<LayoutSet>, actor(c.get('caller')));
        return c.json({ version });
      } catch (e) {
        return fail(c, e);
      }
    },
  );

  // Public trust material: what anyone needs to verify, nothing secret.
  app.get('/verifier/layouts/:file', async (c) => {
    const name = c.req.param('file').replace(/\.layout$/, '') as LayoutName;
    if (!LAYOUT_NAMES.includes(name))
      return c.json(
        { error: 'not_found', detail: `layouts: ${LAYOUT_NAMES.map((n) => `${n}.layout`).join(', ')}` },
        404,
      );
    const t = await d.trust.current();
    return c.json(t.layouts[name]);
  });
  app.get('/verifier/keys/:file', async (c) => {
    const t = await d.trust.current();
    const file = c.req.param('file');
    const pem = (p: string) => c.body(p, 200, { 'content-type': 'application/x-pem-file' });
    if (file === 'root.pub') return pem(t.rootPem);
    if (file === 'platform.pub') return pem(t.platformPem);
    if (file === 'root.intoto.json') return c.json({ keyid: keyIds(t.rootPem).legacy, ...inTotoKey(t.rootPem) });
    // A functionary of the layouts in force, by in-toto key id (or a unique prefix): `<key id>.pub`.
    const m = /^([0-9a-f]{8,64})\.pub$/.exec(file);
    const hits = m ? Object.entries(t.layouts.root.signed.keys).filter(([id]) => id.startsWith(m[1]!)) : [];
    if (hits.length === 1) return pem(hits[0]![1].keyval.public);
    return c.json(
      {
        error: 'not_found',
        detail: `${file}: keys are root.pub, root.intoto.json, platform.pub and <functionary key id>.pub`,
      },
      404,
    );
  });
}
