import type { Db } from '../db/connect.ts';

/** A model name as a repository path segment (what the publisher publishes `model_name` under). */
export function repoName(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+|[._-]+$/g, '') || 'model'
  );
}

/**
 * Who owns a model name: the first owner who published into `<trusted namespace>/<name>`. Another owner's job
 * with that name is refused at submission (409, before anything runs) and, should two race, at publication
 * (the job fails; the first owner's tag is never moved).
 */
export class ModelNames {
  constructor(
    private readonly db: Db,
    readonly namespace: string,
  ) {}

  /** The repository a job's model is published to (`model_name`, else the job id). */
  repository(modelName: string | undefined, jobId: string): string {
    return `${this.namespace}/${repoName(modelName ?? jobId)}`;
  }

  /** The owner of the repository's name, if it has one. */
  async holder(repo: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('attest_model_names')
      .select('owner')
      .where('repo', '=', repo)
      .executeTakeFirst();
    return row?.owner;
  }

  /** Claims the name for `owner` unless someone holds it already; true when it is (now) `owner`'s. */
  async claim(repo: string, owner: string): Promise<boolean> {
    await this.db
      .insertInto('attest_model_names')
      .values({ repo, owner, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('repo').doNothing())
      .execute();
    return (await this.holder(repo)) === owner;
  }
}
