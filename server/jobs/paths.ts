import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';

/** Where a job's files live: `<dataDir>/jobs/<id>/{input,output,uploads,stdout.log,stderr.log}`. */
export function jobDir(dataDir: string, id: string): string {
  return join(dataDir, 'jobs', id);
}

/** Where a recorded input path (absolute, on the node that took the job) is under this node's job dir. */
export function localPath(recorded: string, id: string, dir: string): string {
  if (existsSync(recorded)) return recorded;
  const at = recorded.lastIndexOf(`${sep}${id}${sep}`);
  return at < 0 ? recorded : join(dir, recorded.slice(at + id.length + 2));
}

const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;
/** Job ids are UUIDs here; anything else that could not be a path segment is no job at all. */
export const isJobId = (id: string): boolean => JOB_ID.test(id);
