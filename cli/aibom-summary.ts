import { createPublicKey } from 'node:crypto';
import { verifyAibomSignature, type BomJson, type ModelCard } from '../server/attest/aibom.ts';
import { keyIds } from '../server/attest/keys.ts';
import { scoreAibom, storedScore } from '../server/attest/score.ts';
import type { AibomScore } from '../schema/aibom-score.ts';

/** The readable parts of a CycloneDX AIBoM, as `aibomgen bom show` prints them (and `--json` returns). */
export interface AibomSummary {
  serialNumber?: string;
  specVersion?: string;
  timestamp?: string;
  model: {
    name?: string;
    version?: string;
    description?: string;
    author?: string;
    licenses: string[];
    purl?: string;
    task?: string;
    architecture?: string;
    useCases: string[];
    limitations: string[];
    ethicalConsiderations: string[];
  };
  datasets: { name: string; sha256?: string; purl?: string }[];
  baseModels: { name: string; sha256?: string; purl?: string; source?: string }[];
  trainerImage?: { name: string; sha256?: string };
  runner: { kind?: string; isolated?: boolean; runtime?: string };
  training: {
    jobId?: string;
    started?: string;
    finished?: string;
    params: Record<string, unknown>;
    command?: string;
    exitCode?: string;
  };
  metrics: Record<string, string>;
  libraries: { name: string; version?: string }[];
  /** Completeness with this CLI's rubric (server/attest/score.ts), and the score the AIBoM stores, if any. */
  completeness: AibomScore & { stored?: number };
  signer: {
    algorithm?: string;
    /** in-toto style key id (sha256 of the canonical key) of the key embedded in the JSF signature. */
    keyId?: string;
    /** The signature checks out against the embedded key (says nothing about whether that key is trusted). */
    selfConsistent: boolean;
    /** Present when a trusted key was given: whether the AIBoM is signed by it. */
    trustedKey?: { verified: boolean; reason?: string };
  };
}

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const prop = (c: Json, name: string): string | undefined => str(arr(c.properties).find((p) => p.name === name)?.value);
const sha = (c: Json): string | undefined => str(arr(c.hashes).find((h) => h.alg === 'SHA-256')?.content);

function trusted(doc: BomJson, pem: string): { verified: boolean; reason?: string } {
  try {
    const r = verifyAibomSignature(doc, pem);
    return r.ok ? { verified: true } : { verified: false, ...(r.reason ? { reason: r.reason } : {}) };
  } catch (e) {
    return { verified: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

export function summarizeAibom(doc: BomJson, trustedPem?: string): AibomSummary {
  const meta = (doc.metadata ?? {}) as Json;
  const comp = (meta.component ?? {}) as Json & { modelCard?: ModelCard };
  const card = comp.modelCard ?? {};
  const components = arr(doc.components);
  const workflow = arr(arr(doc.formulation)[0]?.workflows)[0] ?? {};
  const wfProps = arr(workflow.properties);
  const stored = storedScore(doc);
  const env = (k: string): string | undefined => str(wfProps.find((p) => p.name === `aibomgen:env:${k}`)?.value);
  const params: Record<string, unknown> = {};
  for (const p of wfProps) {
    const name = str(p.name);
    if (name?.startsWith('aibomgen:param:')) {
      const v = str(p.value) ?? '';
      try {
        params[name.slice('aibomgen:param:'.length)] = JSON.parse(v);
      } catch {
        params[name.slice('aibomgen:param:'.length)] = v;
      }
    }
  }
  const image = components.find((c) => c.type === 'container');
  const sig = doc.signature;
  let keyId: string | undefined;
  let selfConsistent = false;
  if (sig?.publicKey) {
    try {
      const pem = createPublicKey({ key: sig.publicKey, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      keyId = keyIds(pem).modern;
      selfConsistent = verifyAibomSignature(doc, pem).ok;
    } catch {
      selfConsistent = false;
    }
  }
  const isolated = env('isolated');
  return {
    ...(str(doc.serialNumber) ? { serialNumber: str(doc.serialNumber) } : {}),
    ...(str(doc.specVersion) ? { specVersion: str(doc.specVersion) } : {}),
    ...(str(meta.timestamp) ? { timestamp: str(meta.timestamp) } : {}),
    model: {
      name: str(comp.name),
      version: str(comp.version),
      description: str(comp.description),
      author: str(comp.author),
      licenses: arr(comp.licenses)
        .map(
          (l) =>
            str((l.license as Json | undefined)?.name) ??
            str((l.license as Json | undefined)?.id) ??
            str(l.expression) ??
            '',
        )
        .filter(Boolean),
      purl: str(comp.purl),
      task: card.modelParameters?.task,
      architecture: card.modelParameters?.architectureFamily,
      useCases: card.considerations?.useCases ?? [],
      limitations: card.considerations?.technicalLimitations ?? [],
      ethicalConsiderations: (card.considerations?.ethicalConsiderations ?? []).map((e) => e.name),
    },
    datasets: components
      .filter((c) => c.type === 'data')
      .map((c) => ({ name: str(c.name) ?? '', sha256: sha(c), purl: str(c.purl) })),
    baseModels: components
      .filter((c) => c.type === 'machine-learning-model')
      .map((c) => ({
        name: str(c.name) ?? '',
        sha256: sha(c),
        purl: str(c.purl),
        source: prop(c, 'aibomgen:base_model_source'),
      })),
    ...(image ? { trainerImage: { name: str(image.name) ?? '', sha256: sha(image) } } : {}),
    runner: {
      kind: env('runner_kind'),
      ...(isolated !== undefined ? { isolated: isolated === 'true' } : {}),
      runtime: env('runtime'),
    },
    training: {
      jobId: str(workflow.uid),
      started: str(workflow.timeStart),
      finished: str(workflow.timeEnd),
      params,
      command: str(wfProps.find((p) => p.name === 'aibomgen:command')?.value),
      exitCode: str(wfProps.find((p) => p.name === 'aibomgen:exit_code')?.value),
    },
    metrics: Object.fromEntries((card.quantitativeAnalysis?.performanceMetrics ?? []).map((m) => [m.type, m.value])),
    libraries: components
      .filter((c) => c.type === 'library')
      .map((c) => ({ name: str(c.name) ?? '', version: str(c.version) })),
    completeness: { ...scoreAibom(doc), ...(stored !== undefined ? { stored } : {}) },
    signer: {
      algorithm: sig?.algorithm,
      keyId,
      selfConsistent,
      ...(trustedPem ? { trustedKey: trusted(doc, trustedPem) } : {}),
    },
  };
}
