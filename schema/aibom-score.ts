/**
 * The AIBoM completeness score (server/attest/score.ts has the rubric): what the verifier, GraphQL, the dashboard
 * and `aibomgen bom show` report, and what the publication gate (AIBOMGEN_MIN_AIBOM_SCORE) compares.
 */
import { z } from 'zod';

/** The rubric's areas, after what an AIBoM must let a reader answer. */
export const ScoreCategory = z.enum([
  'model card',
  'datasets',
  'environment',
  'parameters',
  'provenance',
  'signatures',
]);
export type ScoreCategory = z.infer<typeof ScoreCategory>;

/** OWASP AIBOM-style tiers: a missing required field costs 3 points of weight, recommended 2, optional 1. */
export const ScoreTier = z.enum(['required', 'recommended', 'optional']);
export type ScoreTier = z.infer<typeof ScoreTier>;

export const MissingField = z.object({ field: z.string(), category: ScoreCategory, tier: ScoreTier });
export type MissingField = z.infer<typeof MissingField>;

export const AibomScore = z.object({
  /** 0–100: the weight of the fields present over the weight of all fields, rounded down. */
  score: z.number().int().min(0).max(100),
  /** The rubric version the score was computed with (e.g. aibomgen-completeness/v1). */
  rubric: z.string(),
  /** What is missing, required first. */
  missing: z.array(MissingField),
});
export type AibomScore = z.infer<typeof AibomScore>;

/** Names of the AIBoM properties (metadata.properties) that store the score with the document. */
export const SCORE_PROPERTY = 'aibomgen:completeness-score';
export const RUBRIC_PROPERTY = 'aibomgen:completeness-rubric';
