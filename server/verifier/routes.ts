import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { AppEnv } from '../context.ts';
import type { Caller } from '../identity.ts';
import { verifyLayoutAndLink } from '../attest/intoto-verify.ts';
import type { Layout } from '../attest/layout.ts';
import type { Link } from '../attest/link.ts';
import type { BomJson } from '../attest/aibom.ts';
import { aibomSigner } from '../attest/evidence-check.ts';
import { trustedSigners } from '../attest/signers.ts';
import type { VerificationReport } from '../contracts.ts';
import { VerifyArtifactsRequest, VerifyBomAndLinkRequest, VerifyLinkRequest } from '../../schema/verification.ts';
import { createHash } from 'node:crypto';
import { multipartParts } from '../jobs/uploads.ts';

/** Where the platform's public trust material comes from (the keys directory). */
export interface VerifierKeys {
  layout(): Promise<Layout>;
  rootPem(): Promise<string>;
  /** The keys whose signatures count (PEMs, the platform key first; signers.ts). */
  signers(): Promise<string[]>;
  /** Full chain from the registry (the attest area's ModelVerifier). */
  verifyRef(ref: string, caller: Caller): Promise<VerificationReport>;
}

/** The AIBoM's JSF signature against the trusted signers: the key it embeds must be one of them, and verify it. */
function bomSignature(bom: BomJson, signers: string[]): { ok: boolean; reason?: string; keyId?: string } {
  const r = aibomSigner(bom, trustedSigners(signers));
  return r.signer ? { ok: true, keyId: r.signer.keyId } : { ok: false, reason: r.reason ?? 'does not verify' };
}

function problem(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

/**
 * Largest JSON body of the evidence endpoints: a link and a layout are kilobytes, an AIBoM of thousands of
 * components a few MiB. bodyLimit holds up to this much of a chunked body while it counts.
 */
const MAX_JSON_BODY_BYTES = 8 * 1024 * 1024;

/** The request's JSON, or undefined when it is not JSON; a body over the cap is rethrown for bodyLimit's 413. */
async function jsonBody(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (e) {
    if (e instanceof Error && e.name === 'BodyLimitError') throw e;
    return undefined;
  }
}

/** The seed's verifier endpoints that work on evidence sent in the request. */
export function mountVerifierRoutes(app: Hono<AppEnv>, keys: VerifierKeys): void {
  // The evidence endpoints read JSON documents whole: their bodies are capped (413 above, never kept past it);
  // verify_file_hash streams any size through the hash instead.
  const jsonBodies = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    onError: (c) =>
      c.json(
        {
          error: 'payload_too_large',
          detail: `a verifier request body is at most ${MAX_JSON_BODY_BYTES} bytes of JSON`,
        },
        // No `Connection: close`: closing with the body still arriving resets the connection, and a client can
        // lose the answer; Node discards the rest of the body instead, without keeping it.
        413,
      ),
  });
  for (const path of [
    'verify_in-toto_link',
    'verify_bom_and_link',
    'verify_minio_artifacts',
    'verify_registry_artifacts',
  ])
    app.post(`/verifier/${path}`, jsonBodies);
  app.post('/verifier/verify_in-toto_link', async (c) => {
    const body: unknown = await jsonBody(c);
    const parsed = VerifyLinkRequest.safeParse(body);
    if (!parsed.success) return c.json({ error: 'invalid_request', detail: problem(parsed.error.issues) }, 400);
    const layout = (parsed.data.layout as Layout | undefined) ?? (await keys.layout());
    const rootPem = parsed.data.layout_key ?? (await keys.rootPem());
    const result = verifyLayoutAndLink({ layout, rootPem, link: parsed.data.link as Link });
    return c.json(result, result.verified ? 200 : 422);
  });

  // AIBoM (JSF signature by a trusted signer key) and link (signature, layout rules), and that the AIBoM names this link.
  app.post('/verifier/verify_bom_and_link', async (c) => {
    const body: unknown = await jsonBody(c);
    const parsed = VerifyBomAndLinkRequest.safeParse(body);
    if (!parsed.success) return c.json({ error: 'invalid_request', detail: problem(parsed.error.issues) }, 400);
    const link = parsed.data.link as Link;
    const intoto = verifyLayoutAndLink({ layout: await keys.layout(), rootPem: await keys.rootPem(), link });
    const bomSig = bomSignature(parsed.data.bom as BomJson, await keys.signers());
    // The AIBoM refers to the link by the SHA-256 of the link file as published; accept the file's JSON as sent.
    const linkSha = createHash('sha256').update(JSON.stringify(parsed.data.link)).digest('hex');
    const bomText = JSON.stringify(parsed.data.bom);
    const bound = bomText.includes(`urn:in-toto:link:sha256:${linkSha}`);
    const verified = intoto.verified && bomSig.ok && bound;
    return c.json(
      {
        ...intoto,
        verified,
        bom_signature: bomSig.ok,
        ...(bomSig.keyId ? { bom_signer_key_id: bomSig.keyId } : {}),
        ...(bomSig.reason ? { bom_signature_reason: bomSig.reason } : {}),
        bom_references_link: bound,
        checks: [
          ...intoto.checks,
          {
            name: `AIBoM signature${bomSig.keyId ? ` by key ${bomSig.keyId}` : ''}`,
            passed: bomSig.ok,
            ...(bomSig.reason ? { reason: bomSig.reason } : {}),
          },
          {
            name: 'AIBoM references this link',
            passed: bound,
            ...(bound ? {} : { reason: `AIBoM has no reference to link sha256 ${linkSha}` }),
          },
        ],
      },
      verified ? 200 : 422,
    );
  });

  // Re-hashes the stored artifacts named by a model's link (the seed's MinIO check, now against the registry).
  for (const path of ['/verifier/verify_minio_artifacts', '/verifier/verify_registry_artifacts']) {
    app.post(path, async (c) => {
      const body: unknown = await jsonBody(c);
      const parsed = VerifyArtifactsRequest.safeParse(body);
      if (!parsed.success) return c.json({ error: 'invalid_request', detail: problem(parsed.error.issues) }, 400);
      const r = await keys.verifyRef(parsed.data.ref, c.get('caller'));
      const checks = r.checks.filter(
        (x) =>
          x.name.startsWith('blob ') ||
          x.name === 'link products = pulled files' ||
          x.name === 'manifest' ||
          x.name === 'manifest digest' ||
          x.name === 'in-toto link present',
      );
      const verified = checks.length > 0 && checks.every((x) => x.passed);
      return c.json({ ref: r.ref, digest: r.digest, verified, checks }, verified ? 200 : 422);
    });
  }

  // The seed's check: an uploaded file against an expected SHA-256, hashed as it streams in (busboy: the body
  // is never held in memory, whatever its size; the fields may come in either order).
  app.post('/verifier/verify_file_hash', async (c) => {
    const bad = (detail: string) => c.json({ error: 'invalid_request', detail }, 400);
    const usage = 'multipart fields "file" (a file) and "expected_hash" (hex SHA-256) are required';
    let expected: string | undefined;
    let file: { name: string; hash: string } | undefined;
    try {
      for await (const part of multipartParts(c.req.raw.body, c.req.header('content-type'))) {
        if (!('stream' in part)) {
          if (part.field === 'expected_hash') expected = part.value;
          continue;
        }
        if (part.field !== 'file' || file) {
          part.stream.resume(); // not ours: drained, not kept
          continue;
        }
        const h = createHash('sha256');
        for await (const chunk of part.stream as AsyncIterable<Buffer>) h.update(chunk);
        file = { name: part.filename, hash: h.digest('hex') };
      }
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
    if (!file || expected === undefined) return bad(usage);
    const want = expected
      .trim()
      .replace(/^sha256:/, '')
      .toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(want)) return bad('expected_hash must be 64 hex characters');
    const ok = file.hash === want;
    return c.json({ verified: ok, expected_hash: want, actual_hash: file.hash, file_name: file.name }, ok ? 200 : 422);
  });
}
