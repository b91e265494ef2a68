import DataLoader from 'dataloader';
import type { JobView, VerificationReport } from '../contracts.ts';
import type { GqlDeps } from './deps.ts';
import {
  attestationsByVersions,
  tagsByRepos,
  versionsByIds,
  versionsByRepos,
  type AttestationRow,
  type TagRow,
  type VersionRow,
} from '../lineage/queries.ts';

/** Per-request batching: every field that reads the index goes through one of these (no N+1). */
export interface Loaders {
  version: DataLoader<string, VersionRow | null>;
  versionsOfRepo: DataLoader<string, VersionRow[]>;
  tagsOfRepo: DataLoader<string, TagRow[]>;
  attestations: DataLoader<{ id: string; repo: string; digest: string }, AttestationRow[], string>;
  job: DataLoader<string, JobView | null>;
  verification: DataLoader<string, VerificationReport>;
}

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

export function createLoaders(s: GqlDeps): Loaders {
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
    attestations: new DataLoader(
      async (versions) => {
        const g = groupBy(await attestationsByVersions(s.db, versions), (a) => a.subject);
        return versions.map((v) => g.get(v.id) ?? []);
      },
      { cacheKeyFn: (v) => v.id },
    ),
    // The job service has no batch read: one get per id, deduplicated per request.
    job: new DataLoader(async (ids) => Promise.all(ids.map((id) => s.jobs.get(id))), { batch: false }),
    verification: new DataLoader(async (refs) => Promise.all(refs.map((ref) => s.verifier.verify(ref))), {
      batch: false,
    }),
  };
}
