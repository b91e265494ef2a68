/**
 * Verification contracts: the report of a model's full chain (attest area → REST, GraphQL, CLI) and the
 * evidence documents the seed's verifier endpoints accept in a request body (in-toto link and layout).
 */
import { z } from 'zod';
import { AibomScore } from './aibom-score.ts';

export const VerificationCheck = z.object({
  name: z.string(),
  passed: z.boolean(),
  reason: z.string().optional(),
});
export type VerificationCheck = z.infer<typeof VerificationCheck>;

export const VerificationReport = z.object({
  ref: z.string(),
  digest: z.string().optional(),
  verified: z.boolean(),
  checks: z.array(VerificationCheck),
  /**
   * What the verified evidence states, for policies a verifier adds on top (aibomgen verify
   * --platform-trainer-only, --require-eval): present only when the evidence stating it verified.
   */
  facts: z
    .object({
      /** From the in-toto link's signed step name: the platform's own trainer or a user-supplied image. */
      job_kind: z.enum(['platform', 'image']).optional(),
      /** The signed test-result attestation's metrics (held-out evaluation), by name. */
      evaluation: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
  /** The counted AIBoM's completeness, computed by the verifier with its rubric (never read from the document). */
  completeness: AibomScore.optional(),
});
export type VerificationReport = z.infer<typeof VerificationReport>;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const Sig = z.object({ keyid: hex64, sig: z.string().regex(/^[0-9a-f]+$/) });
const ArtifactMap = z.record(z.string(), z.object({ sha256: hex64 }));
const Rule = z.array(z.string()).min(2);

/** A signed in-toto link (metadata v0.9, as the seed and in-toto-python write it). */
export const InTotoLinkDocument = z.object({
  signatures: z.array(Sig).min(1),
  signed: z.object({
    _type: z.literal('link'),
    name: z.string(),
    command: z.array(z.string()),
    materials: ArtifactMap,
    products: ArtifactMap,
    byproducts: z.object({
      'return-value': z.number().int(),
      stdout: z.string(),
      stderr: z.string(),
      /** The data-access record: the job's input files it read (server/attest/data-access.ts). */
      'inputs-read': z.array(z.string()).optional(),
    }),
    environment: z.record(z.string(), z.string()),
  }),
});

/** A signed in-toto layout (ECDSA P-256 keys only, no inspections). */
export const InTotoLayoutDocument = z.object({
  signatures: z.array(Sig).min(1),
  signed: z.object({
    _type: z.literal('layout'),
    expires: z.string(),
    readme: z.string(),
    keys: z.record(
      z.string(),
      z.object({
        keyid: z.string(),
        keytype: z.literal('ecdsa'),
        scheme: z.literal('ecdsa-sha2-nistp256'),
        keyid_hash_algorithms: z.array(z.string()),
        keyval: z.object({ public: z.string() }),
      }),
    ),
    steps: z.array(
      z.object({
        _type: z.literal('step'),
        name: z.string(),
        threshold: z.number().int().min(1),
        pubkeys: z.array(z.string()),
        expected_command: z.array(z.string()),
        expected_materials: z.array(Rule),
        expected_products: z.array(Rule),
      }),
    ),
    inspect: z.array(z.never()),
  }),
});

/** `POST /verifier/verify_in-toto_link`: the layout and its root key default to the platform's own. */
export const VerifyLinkRequest = z.object({
  link: InTotoLinkDocument,
  layout: InTotoLayoutDocument.optional(),
  layout_key: z.string().optional(),
});
/** `POST /verifier/verify_bom_and_link`: a signed AIBoM (CycloneDX JSON) and the link it names. */
export const VerifyBomAndLinkRequest = z.object({ bom: z.record(z.string(), z.unknown()), link: InTotoLinkDocument });
/** `POST /verifier/verify_registry_artifacts` (and the seed's name, `verify_minio_artifacts`). */
export const VerifyArtifactsRequest = z.object({ ref: z.string().min(1) });

/** The seed verifier's detail fields, plus the checks behind them (answer of verify_in-toto_link). */
export const InTotoVerification = z.object({
  verified: z.boolean(),
  layout_signature: z.boolean(),
  layout_expired: z.boolean(),
  layout_expires: z.string(),
  link_signatures: z.boolean(),
  threshold: z.object({ required: z.number().int(), found: z.number().int() }),
  artifact_rules: z.object({ materials: z.string().nullable(), products: z.string().nullable() }),
  checks: z.array(VerificationCheck),
});
export type InTotoVerification = z.infer<typeof InTotoVerification>;
