/**
 * The workers' own signing keys and the layouts that list them (`/developer/admin/worker-keys`,
 * `/developer/admin/layout`, `/verifier/layouts/*`, `/verifier/keys/*`; server/attest/worker-keys.ts).
 */
import { z } from 'zod';

export const WorkerKeyState = z.enum(['pending', 'approved', 'revoked']);

export const WorkerKeyView = z.object({
  /** The in-toto key id (the id the layouts list it under; a link's signature names it). */
  keyId: z.string(),
  workerId: z.string(),
  state: WorkerKeyState,
  publicPem: z.string(),
  enrolledAt: z.string(),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
  /** Listed in the layouts in force: an approved key signs jobs only once this is true. */
  inLayout: z.boolean(),
});
export type WorkerKeyView = z.infer<typeof WorkerKeyView>;

export const WorkerKeyList = z.object({ keys: z.array(WorkerKeyView) });
export type WorkerKeyList = z.infer<typeof WorkerKeyList>;

export const LayoutChange = z.object({
  key: WorkerKeyView,
  /** `signed`: new layouts are in force; `needs-signing`: sign the draft offline and upload it. */
  layout: z.enum(['signed', 'needs-signing']),
  version: z.number().int().optional(),
});
export type LayoutChange = z.infer<typeof LayoutChange>;

/** An in-toto layout, signed (`{signatures, signed}`) or a draft's unsigned body (`{_type: 'layout', …}`). */
const InTotoLayoutJson = z.record(z.string(), z.unknown());
export const LayoutNames = ['root', 'train-platform', 'train-image'] as const;
/** The three layouts by name: unsigned in a draft, signed in an upload. */
export const LayoutSetJson = z.object({
  root: InTotoLayoutJson,
  'train-platform': InTotoLayoutJson,
  'train-image': InTotoLayoutJson,
});
export const LayoutVersion = z.object({ version: z.number().int() });
