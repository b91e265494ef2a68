import type { Logger } from 'pino';
import { MediaType } from '../../schema/media-types.ts';
import type { Publication } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { OciTarget } from '../oci/target.ts';
import { readJsonBlob } from './blobs.ts';
import { aibomFacts, annotationClaims, publicationClaims, type AibomSummary, type Claim } from './claims.ts';
import { rebuildEdges, versionNode } from './edges.ts';
import { nodeId } from './ids.ts';
import { classify, isWeightLayer, parseManifest, type ParsedManifest } from './manifest.ts';
import {
  judgeReferrer,
  judgeSignature,
  rejudgeEvidenceOf,
  sigTagSubject,
  type TrustColumns,
  type TrustedKey,
  untrustSigner,
  verifiedAibom,
} from './trust.ts';

const MAX_CONFIG = 1 << 20;
const MAX_METRICS = 256 << 10;
/** No trusted key given: nothing attached verifies (all of it is listed as unverified). */
const NO_KEY: TrustedKey = async () => [];

/**
 * Keeps the lineage tables in step with the registry. Every method is meant to run one at a time (the area
 * queues them): each leaves the index consistent, whatever order manifests and their evidence arrive in.
 */
export class LineageIndexer {
  constructor(
    private readonly db: Db,
    private readonly store: OciTarget,
    readonly _log: Logger,
    /** The keys evidence must be signed with to count (the trusted signer set, asked at each judgement). */
    private readonly trustedKey: TrustedKey = NO_KEY,
  ) {}

  async manifestPut(e: {
    repo: string;
    digest: string;
    mediaType: string;
    bytes: Uint8Array;
    tag?: string;
  }): Promise<void> {
    const { repo, digest } = e;
    const known = await this.db
      .selectFrom('lineage_manifests')
      .select('kind')
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (e.tag) await this.setTag(repo, e.tag, digest);
    // The same bytes again (the publisher's final tag PUT): only the tag changed.
    if (known) {
      if (e.tag && known.kind === 'model') await this.refreshVersionNode(repo, digest);
      if (sigTagSubject(e.tag))
        await this.setTrust(repo, digest, await judgeSignature(this.store, repo, e.tag!, this.trustedKey));
      return;
    }
    const m = parseManifest(e.bytes);
    if (!m) return;
    const kind = classify(repo, e.mediaType, m);
    // Evidence is judged once, here (and again when its subject arrives later): signature and subject.
    const trust: Partial<TrustColumns> =
      typeof m.subject?.digest === 'string' && kind !== 'signature'
        ? await judgeReferrer(this.store, repo, digest, m.subject.digest, this.trustedKey)
        : kind === 'signature' && sigTagSubject(e.tag)
          ? await judgeSignature(this.store, repo, e.tag!, this.trustedKey)
          : {};
    await this.db
      .insertInto('lineage_manifests')
      .values({
        repo,
        digest,
        kind,
        artifact_type: m.artifactType ?? m.config?.mediaType ?? null,
        subject_digest: typeof m.subject?.digest === 'string' ? m.subject.digest : null,
        annotations_json: m.annotations ? JSON.stringify(m.annotations) : null,
        signer_key_id: null,
        created_at: new Date().toISOString(),
        verified: null,
        evidence_kind: null,
        signer_hint: null,
        trust_reason: null,
        ...trust,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const layers = (m.layers ?? []).filter((l) => l.digest);
    if (kind !== 'index' && layers.length > 0) {
      const rows = new Map(
        layers.map((l) => [
          l.digest!,
          { repo, digest, layer_digest: l.digest!, media_type: l.mediaType ?? '', is_weight: isWeightLayer(l) ? 1 : 0 },
        ]),
      );
      await this.db
        .insertInto('lineage_layers')
        .values([...rows.values()])
        .onConflict((oc) => oc.doNothing())
        .execute();
    }

    if (kind === 'model') {
      await this.insertVersion(repo, digest, e.mediaType, m);
      // Evidence pushed before its subject was judged without it.
      await rejudgeEvidenceOf(this.db, this.store, repo, digest, this.trustedKey);
      await this.reindexVersion(repo, digest);
      await this.rebuildDependents(repo, digest);
    } else if (kind === 'referrer' && typeof m.subject?.digest === 'string') {
      // Only a verified AIBoM changes what the version says about itself.
      if (trust.verified === 1 && trust.evidence_kind === 'aibom') await this.reindexIfVersion(repo, m.subject.digest);
    } else {
      await this.rebuildClaimants(digest);
    }
  }

  async manifestDelete(e: { repo: string; digest: string }): Promise<void> {
    const { repo, digest } = e;
    const row = await this.db
      .selectFrom('lineage_manifests')
      .select(['kind', 'subject_digest', 'verified', 'evidence_kind'])
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .executeTakeFirst();
    await this.db.deleteFrom('lineage_tags').where('repo', '=', repo).where('digest', '=', digest).execute();
    if (!row) return;
    const id = nodeId.model(repo, digest);
    // Who resolved to this version must be found before its layers go.
    const dependents = row.kind === 'model' ? await this.dependentsOf(repo, digest) : [];
    await this.db.deleteFrom('lineage_manifests').where('repo', '=', repo).where('digest', '=', digest).execute();
    await this.db.deleteFrom('lineage_layers').where('repo', '=', repo).where('digest', '=', digest).execute();
    if (row.kind === 'model') {
      await this.db.deleteFrom('lineage_versions').where('id', '=', id).execute();
      await this.db.deleteFrom('lineage_claims').where('owner', '=', id).execute();
      await rebuildEdges(this.db, id);
      for (const d of dependents) if (d !== id) await rebuildEdges(this.db, d);
    } else if (row.kind === 'referrer' && row.subject_digest) {
      if (row.verified === 1 && row.evidence_kind === 'aibom') await this.reindexIfVersion(repo, row.subject_digest);
    } else {
      await this.rebuildClaimants(digest);
    }
  }

  /**
   * The signer `keyId` left the trusted set: what it verified no longer counts (trust.ts untrustSigner), the
   * versions it spoke for lose what its AIBoM said, and their verified flag drops to 0 until verified again (with
   * the signer gone, a verification of them would count nothing it signed). Returns the versions affected.
   */
  async untrustSigner(keyId: string, reason: string): Promise<{ repo: string; digest: string }[]> {
    const versions = await untrustSigner(this.db, keyId, reason);
    for (const v of versions) {
      await this.reindexIfVersion(v.repo, v.digest);
      await this.db
        .updateTable('lineage_versions')
        .set({ verified: 0, verified_at: new Date().toISOString() })
        .where('id', '=', nodeId.model(v.repo, v.digest))
        .where('verified', '=', 1)
        .execute();
    }
    return versions;
  }

  async tagDelete(e: { repo: string; tag: string }): Promise<void> {
    const row = await this.db
      .selectFrom('lineage_tags')
      .select('digest')
      .where('repo', '=', e.repo)
      .where('tag', '=', e.tag)
      .executeTakeFirst();
    await this.db.deleteFrom('lineage_tags').where('repo', '=', e.repo).where('tag', '=', e.tag).execute();
    if (row) await this.refreshVersionNode(e.repo, row.digest);
  }

  async published(e: { jobId: string; publication: Publication }): Promise<void> {
    const p = e.publication;
    await this.db
      .insertInto('lineage_publications')
      .values({ job_id: e.jobId, repo: p.repository, digest: p.digest, publication_json: JSON.stringify(p) })
      .onConflict((oc) =>
        oc.column('job_id').doUpdateSet({ repo: p.repository, digest: p.digest, publication_json: JSON.stringify(p) }),
      )
      .execute();
    await this.reindexIfVersion(p.repository, p.digest);
  }

  private async setTag(repo: string, tag: string, digest: string): Promise<void> {
    const prev = await this.db
      .selectFrom('lineage_tags')
      .select('digest')
      .where('repo', '=', repo)
      .where('tag', '=', tag)
      .executeTakeFirst();
    if (prev?.digest === digest) return;
    const row = { repo, tag, digest, created_at: new Date().toISOString() };
    await this.db
      .insertInto('lineage_tags')
      .values(row)
      .onConflict((oc) => oc.columns(['repo', 'tag']).doUpdateSet({ digest, created_at: row.created_at }))
      .execute();
    if (prev) await this.refreshVersionNode(repo, prev.digest);
  }

  /** Node label follows the tags (`repo:tag`). */
  private async refreshVersionNode(repo: string, digest: string): Promise<void> {
    const n = await versionNode(this.db, repo, digest);
    await this.db.updateTable('lineage_nodes').set({ label: n.label }).where('id', '=', n.id).execute();
  }

  private async insertVersion(repo: string, digest: string, mediaType: string, m: ParsedManifest): Promise<void> {
    const config =
      m.config?.digest && /json/.test(m.config.mediaType ?? '') && m.config.mediaType !== MediaType.ociEmpty
        ? await readJsonBlob(this.store, repo, m.config.digest, MAX_CONFIG)
        : undefined;
    const metricsLayer = (m.layers ?? []).find(
      (l) => l.annotations?.['org.opencontainers.image.title'] === 'metrics.json' && l.digest,
    );
    const metrics = metricsLayer ? await readJsonBlob(this.store, repo, metricsLayer.digest!, MAX_METRICS) : undefined;
    await this.db
      .insertInto('lineage_versions')
      .values({
        id: nodeId.model(repo, digest),
        repo,
        digest,
        media_type: mediaType,
        artifact_type: m.artifactType ?? m.config?.mediaType ?? null,
        created: null,
        framework: null,
        name: null,
        author: null,
        license: null,
        task: null,
        job_id: null,
        annotations_json: m.annotations ? JSON.stringify(m.annotations) : null,
        config_json: config && typeof config === 'object' ? JSON.stringify(config) : null,
        metrics_json: metrics && typeof metrics === 'object' ? JSON.stringify(metrics) : null,
        aibom_json: null,
        verified: null,
        verified_at: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  private async reindexIfVersion(repo: string, digest: string): Promise<void> {
    const v = await this.db
      .selectFrom('lineage_versions')
      .select('id')
      .where('id', '=', nodeId.model(repo, digest))
      .executeTakeFirst();
    if (v) await this.reindexVersion(repo, digest);
  }

  /** Recomputes a version's claims and summary fields from its manifest, config, AIBoM referrers and publication. */
  async reindexVersion(repo: string, digest: string): Promise<void> {
    const id = nodeId.model(repo, digest);
    const v = await this.db.selectFrom('lineage_versions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!v) return;
    const annotations = v.annotations_json ? (JSON.parse(v.annotations_json) as Record<string, string>) : undefined;
    const claims: Claim[] = annotationClaims(annotations);
    let aibom: AibomSummary | undefined;
    // Only an AIBoM signed by the trusted key and about this manifest speaks for the version; never by date.
    const bom = await verifiedAibom(this.db, this.store, repo, digest);
    const facts = bom ? aibomFacts(bom.doc) : undefined;
    if (facts) {
      claims.push(...facts.claims);
      aibom = facts.summary;
    }
    const pubs = await this.db
      .selectFrom('lineage_publications')
      .select(['job_id', 'publication_json'])
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .execute();
    for (const p of pubs) claims.push(...publicationClaims(p.job_id, JSON.parse(p.publication_json) as Publication));

    const cfg = v.config_json ? (JSON.parse(v.config_json) as ModelPackConfig) : undefined;
    const job =
      claims.find((c) => c.kind === 'job' && c.origin === 'publication') ?? claims.find((c) => c.kind === 'job');
    await this.db
      .updateTable('lineage_versions')
      .set({
        created:
          annotations?.['org.opencontainers.image.created'] ??
          cfg?.descriptor?.createdAt ??
          v.created ??
          new Date().toISOString(),
        framework: cfg?.config?.format ?? aibom?.framework ?? null,
        name: cfg?.descriptor?.name ?? aibom?.name ?? null,
        author: cfg?.descriptor?.authors?.[0] ?? aibom?.author ?? null,
        license: cfg?.descriptor?.licenses?.[0] ?? aibom?.license ?? null,
        task: aibom?.task ?? null,
        job_id: job?.value ?? null,
        aibom_json: aibom ? JSON.stringify(aibom) : null,
        metrics_json: v.metrics_json ?? (aibom?.metrics ? JSON.stringify(aibom.metrics) : null),
      })
      .where('id', '=', id)
      .execute();

    await this.db.deleteFrom('lineage_claims').where('owner', '=', id).execute();
    const unique = new Map(claims.map((c) => [`${c.kind}\n${c.repo ?? ''}\n${c.digest ?? ''}\n${c.value}`, c]));
    if (unique.size > 0) {
      await this.db
        .insertInto('lineage_claims')
        .values(
          [...unique.values()].map((c) => ({
            owner: id,
            kind: c.kind,
            target_repo: c.repo ?? null,
            target_digest: c.digest ?? null,
            value: c.value,
            origin: c.origin,
          })),
        )
        .execute();
    }
    await rebuildEdges(this.db, id);
  }

  /** Versions whose base-model claims name this version, or a file it holds as weights. */
  private async dependentsOf(repo: string, digest: string): Promise<string[]> {
    const weights = this.db
      .selectFrom('lineage_layers')
      .select('layer_digest')
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .where('is_weight', '=', 1);
    const byClaim = await this.db
      .selectFrom('lineage_claims')
      .select('owner')
      .distinct()
      .where('kind', '=', 'base-model')
      .where((eb) => eb.or([eb('target_digest', '=', digest), eb('target_digest', 'in', weights)]))
      .execute();
    const byLayer = await this.db
      .selectFrom('lineage_claims as c')
      .innerJoin('lineage_layers as l', (j) =>
        j.onRef('l.repo', '=', 'c.target_repo').onRef('l.digest', '=', 'c.target_digest'),
      )
      .select('c.owner')
      .distinct()
      .where('c.kind', '=', 'base-model')
      .where('l.layer_digest', 'in', weights)
      .execute();
    const byEdge = await this.db
      .selectFrom('lineage_edges')
      .select('owner')
      .distinct()
      .where('up_id', '=', nodeId.model(repo, digest))
      .execute();
    return [...new Set([...byClaim, ...byLayer, ...byEdge].map((r) => r.owner))];
  }

  private async rebuildDependents(repo: string, digest: string): Promise<void> {
    const self = nodeId.model(repo, digest);
    for (const d of await this.dependentsOf(repo, digest)) if (d !== self) await rebuildEdges(this.db, d);
  }

  /** A named artifact (a base model upload, a dataset) arrived or left: the versions naming it resolve again. */
  private async rebuildClaimants(digest: string): Promise<void> {
    const owners = await this.db
      .selectFrom('lineage_claims')
      .select('owner')
      .distinct()
      .where('target_digest', '=', digest)
      .execute();
    for (const o of owners) await rebuildEdges(this.db, o.owner);
  }

  private async setTrust(repo: string, digest: string, t: TrustColumns): Promise<void> {
    await this.db
      .updateTable('lineage_manifests')
      .set(t)
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .execute();
  }
}

interface ModelPackConfig {
  descriptor?: { name?: string; version?: string; authors?: string[]; licenses?: string[]; createdAt?: string };
  config?: { format?: string };
}
