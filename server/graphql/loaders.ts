import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import pMap from 'p-map';
import type { JobView, VerificationReport } from '../contracts.ts';
import type { Caller } from '../identity.ts';
import type { GqlDeps } from './deps.ts';
import {
  evidenceByVersions,
  tagsByRepos,
  versionsByIds,
  versionsByRepos,
  type TagRow,
  type VersionEvidence,
  type VersionRow,
} from '../lineage/queries.ts';
import { verifiedAibom } from '../lineage/trust.ts';
import { verifiedSpdx } from './spdx-document.ts';
import { queryLimits } from './limits.ts';

/** Per-request batching: every field that reads the index goes through one of these (no N+1). */
export interface Loaders {
  version: DataLoader<string, VersionRow | null>;
  versionsOfRepo: DataLoader<string, VersionRow[]>;
  tagsOfRepo: DataLoader<string, TagRow[]>;
  /** A version's attached evidence, split into verified attestations and unverified attachments. */
  evidence: DataLoader<{ id: string; repo: string; digest: string }, VersionEvidence, string>;
  job: DataLoader<string, JobView | null>;
  /** Full verifications of `repo@digest` refs, costed against the request's budget (queryLimits). */
  verification: DataLoader<string, VerificationReport>;
  /** A version's verified AIBoM document (null when none verifies), costed like verifications. */
  aibomDocument: DataLoader<{ id: string; repo: string; digest: string }, unknown, string>;
  /** The verified SPDX 3.0.1 export of a version (spdx-document.ts). */
  spdxDocument: DataLoader<{ id: string; repo: string; digest: string }, unknown, string>;
}

/** Verifications of one batch run at once: each hashes every blob of its model. */
const VERIFY_CONCURRENCY = 2;

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/**
 * The request's runtime cost: each verification (and each AIBoM document read) it asks for is charged against
 * queryLimits.maxCost as it is asked for; a batch that would pass the limit is refused as a whole, unrun.
 */
function costMeter() {
  let spent = 0;
  return (what: string, n: number, each: number): GraphQLError | undefined => {
    if (spent + n * each <= queryLimits.maxCost) {
      spent += n * each;
      return undefined;
    }
    const most = Math.floor(queryLimits.maxCost / each);
    return new GraphQLError(
      `Query Cost limit of ${queryLimits.maxCost} exceeded: ${n} ${what} asked for at ${each} each, ${spent} spent already (at most ${most} in one request; ask for fewer versions)`,
      { extensions: { code: 'BAD_USER_INPUT', cost: spent + n * each, maxCost: queryLimits.maxCost } },
    );
  };
}

export function createLoaders(s: GqlDeps, caller: Caller): Loaders {
  const charge = costMeter();
  const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
  return {
    version: new DataLoader(async (ids) => {
      const byId = new Map((await versionsByIds(s.db, ids)).map((v) => [v.id, v]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    versionsOfRepo: new DataLoader(async (repos) => {
      const g = groupBy(await versionsByRepos(s.db, repos), (v) => v.repo);
      return repos.map((r) => g.get(r) ?? []);
    }),
    tagsOfRepo: new DataLoader(async (repos) => {
      const g = groupBy(await tagsByRepos(s.db, repos), (t) => t.repo);
      return repos.map((r) => g.get(r) ?? []);
    }),
    evidence: new DataLoader(
      async (versions) => {
        const byId = await evidenceByVersions(s.db, versions);
        return versions.map((v) => byId.get(v.id) ?? { attestations: [], unverified: [] });
      },
      { cacheKeyFn: (v) => v.id },
    ),
    // The job service has no batch read: one get per id, deduplicated per request.
    job: new DataLoader(async (ids) => Promise.all(ids.map((id) => s.jobs.get(id, caller))), { batch: false }),
    // A list asking `verification` of every version arrives here as one batch: refused as a whole when over the
    // budget (nothing is verified), else verified a few at a time.
    verification: new DataLoader(async (refs) => {
      const refused = charge('verifications', refs.length, queryLimits.verificationCost);
      if (refused) return refs.map(() => refused);
      return pMap(refs, (ref) => s.verifier.verify(ref, caller).catch(asError), { concurrency: VERIFY_CONCURRENCY });
    }),
    // The verified AIBoM document of a version (up to 16 MiB each), read as the caller.
    aibomDocument: new DataLoader(
      async (versions) => {
        const refused = charge('AIBoM documents', versions.length, queryLimits.documentCost);
        if (refused) return versions.map(() => refused);
        const target = s.registry.as(caller);
        const read = (v: { repo: string; digest: string }): Promise<unknown> =>
          verifiedAibom(s.db, target, v.repo, v.digest).then((r) => r?.doc ?? null, asError);
        return pMap(versions, read, { concurrency: VERIFY_CONCURRENCY });
      },
      { cacheKeyFn: (v) => v.id },
    ),
    spdxDocument: new DataLoader(
      async (versions) => {
        const refused = charge('SPDX documents', versions.length, queryLimits.documentCost);
        if (refused) return versions.map(() => refused);
        const target = s.registry.as(caller);
        const read = (v: { repo: string; digest: string }) =>
          verifiedSpdx(s.db, target, v.repo, v.digest).catch(asError);
        return pMap(versions, read, { concurrency: VERIFY_CONCURRENCY });
      },
      { cacheKeyFn: (v) => v.id },
    ),
  };
}
