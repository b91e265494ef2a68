import { MAX_PAGE, readAuditLog } from '../../audit/log.ts';
import { isAdmin } from '../../identity.ts';
import type { GqlContext } from '../context.ts';
import { badInput, forbidden } from '../errors.ts';

const ENTRY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `auditLog`: the audit trail (server/audit), for administrators; newest first, paged by entry id. */
export const AuditQuery = {
  auditLog: async (
    _: unknown,
    a: { limit?: number | null; after?: string | null; actor?: string | null; action?: string | null },
    ctx: GqlContext,
  ) => {
    // Auth off is a development install where everyone may do everything; with auth on, administrators only.
    if (ctx.s.auth.enabled && !isAdmin(ctx.caller))
      throw forbidden('auditLog: the audit log is for administrators only (AIBOMGEN_ADMINS, or an admin-scoped token)');
    const limit = a.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw badInput(`limit must be between 1 and ${MAX_PAGE}, got ${limit}`);
    if (a.after && !ENTRY_ID.test(a.after)) throw badInput(`after: "${a.after}" is not the id of an audit entry`);
    return readAuditLog(ctx.s.db, {
      limit,
      ...(a.after ? { after: a.after } : {}),
      ...(a.actor ? { actor: a.actor } : {}),
      ...(a.action ? { action: a.action } : {}),
    });
  },
};
