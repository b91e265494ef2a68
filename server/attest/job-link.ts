/**
 * The in-toto link of one job: its step by job kind (layout.ts JOB_STEPS: the platform's own trainer or a user
 * image), the image digest as material `trainer-image` when the job ran in a container, and what the platform
 * measured (evidence.ts), including the data-access record when there is one (data-access.ts).
 */
import type { KeyObject } from 'node:crypto';
import type { JobOutcome } from '../contracts.ts';
import { inputsRead } from './data-access.ts';
import type { JobEvidence } from './evidence.ts';
import { JOB_STEPS, type JobKind } from './layout.ts';
import { createLink, imageMaterial, type Link } from './link.ts';

/** The job's kind. The executor always sets `runner.trainer`; an outcome without it ran the platform trainer. */
export function jobKind(outcome: JobOutcome): JobKind {
  return outcome.runner.trainer ?? 'platform';
}

export function createJobLink(key: KeyObject, outcome: JobOutcome, ev: JobEvidence): Link {
  const kind = jobKind(outcome);
  const access = inputsRead(outcome);
  const image = imageMaterial(outcome.runner.imageDigest);
  // A user image without a digest cannot be named: its link would fail the step's REQUIRE rule, so refuse now.
  if (kind === 'image' && !Object.keys(image).length)
    throw new Error(`the trainer image ${outcome.runner.image ?? '(none)'} has no digest to record in the link`);
  return createLink({
    key,
    name: JOB_STEPS[kind],
    command: outcome.runner.command,
    materials: { ...ev.materials, ...image },
    products: ev.products,
    // The data-access record, as material names; absent when the runner kept none (never "nothing was read").
    byproducts: {
      ...ev.byproducts,
      ...(access ? { 'inputs-read': access.read.map((f) => `inputs/${f}`) } : {}),
    },
    environment: ev.environment,
  });
}
