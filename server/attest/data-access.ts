/**
 * The data-access record: which of a job's input files were read during its run, kept in the in-toto link's
 * byproducts (`inputs-read`) and in the AIBoM.
 *
 * Mechanism (no privilege in or around the job): access times. The docker runner puts the inputs into the
 * container's /input volume with mtime = atime = 0 (job-files.ts), as root-owned read-only files. Under the
 * engine's `relatime` (the default here; not `noatime`), the first read of a file whose atime is not after its
 * mtime sets its atime to now. After the job exits, a helper container of the platform's own trainer image (never
 * the job's image: that could lie) mounts the same volume read-only and reports each file's atime and mtime; a
 * file read has atime > mtime. The job cannot hide a read: resetting an atime (utimensat with a time) needs the
 * file's owner or CAP_FOWNER, and the job runs as nobody with every capability dropped.
 *
 * What it sees: any read(2)/mmap of a file's content by any process of the job, once per file. What it cannot see:
 * an open without a read, stat/ls, how much of a file was read or when, reads through a path outside /input, and
 * anything on an engine whose volumes are mounted `noatime` (every file then looks unread: this cannot tell that
 * apart from a job that read nothing). The process runner (not isolated) keeps no record.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { InputAccess, JobOutcome } from '../contracts.ts';

/** Prints `[path, atimeMs, mtimeMs]` of every regular file under /input as JSON (node, in the trainer image). */
const STAT_SCRIPT = `
const fs = require('fs'), path = require('path'); const out = [];
const walk = (d, rel) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
  const p = path.join(d, e.name), r = rel ? rel + '/' + e.name : e.name;
  if (e.isDirectory()) walk(p, r); else if (e.isFile()) { const s = fs.statSync(p); out.push([r, s.atimeMs, s.mtimeMs]); } } };
walk('/input', ''); process.stdout.write(JSON.stringify(out));
`;

/** Most bytes of the helper's report read (a path list; far below this for any real job). */
const MAX_REPORT_BYTES = 8 * 1024 * 1024;

/** Splits `[path, atime, mtime]` rows into read and unread files. */
export function classify(rows: [string, number, number][]): InputAccess {
  const read = rows.filter(([, a, m]) => a > m).map(([p]) => p);
  const unread = rows.filter(([, a, m]) => !(a > m)).map(([p]) => p);
  return { read: read.sort(), unread: unread.sort() };
}

/**
 * After the job's container exited (and before it is removed with its volumes): the record, read by a helper
 * container from `image` (the platform trainer's, `node` its node binary) mounting the job's /input volume
 * read-only. Throws when the helper fails; the runner then records nothing.
 */
export async function readInputAccess(
  docker: Docker,
  o: { inputVolume: string; image: string; node: string; timeoutMs?: number; labels?: Record<string, string> },
): Promise<InputAccess> {
  const helper = await docker.createContainer({
    Image: o.image,
    // The job's label: a crash while the helper runs leaves a container the runner's clean-up finds by it.
    ...(o.labels ? { Labels: o.labels } : {}),
    Cmd: [o.node, '-e', STAT_SCRIPT],
    User: '65534:65534',
    WorkingDir: '/',
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Mounts: [{ Type: 'volume', Source: o.inputVolume, Target: '/input', ReadOnly: true }],
    },
  });
  try {
    const stream = await helper.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    docker.modem.demuxStream(stream, out, err);
    let text = '';
    let errText = '';
    out.on('data', (d: Buffer) => {
      if (text.length < MAX_REPORT_BYTES) text += d.toString('utf8');
    });
    err.on('data', (d: Buffer) => (errText = (errText + d.toString('utf8')).slice(-2000)));
    const ended = new Promise<void>((r) => {
      stream.on('end', r);
      stream.on('close', r);
    });
    await helper.start();
    const timer = setTimeout(() => void helper.kill().catch(() => undefined), o.timeoutMs ?? 60_000);
    const { StatusCode } = (await helper.wait()) as { StatusCode: number };
    clearTimeout(timer);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
    if (StatusCode !== 0) throw new Error(`the input-access helper exited ${StatusCode}: ${errText.trim()}`);
    return classify(JSON.parse(text) as [string, number, number][]);
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * The record in the job's own terms: its input files by name (the material `inputs/<name>`), read or not. A file
 * of /input is matched to the input whose path on this node ends with it (the longest such path: the input
 * directory's layout, e.g. `model/model.json`, is kept in the container). Undefined when there is no record.
 */
export function inputsRead(o: JobOutcome): { read: string[]; unread: string[] } | undefined {
  const access = o.inputAccess;
  if (!access) return undefined;
  const all = [...access.read, ...access.unread];
  const read = new Set(access.read);
  const named = o.inputs.map((f) => {
    const at = all.filter((p) => f.path.endsWith(`/${p}`)).sort((a, b) => b.length - a.length)[0];
    return { name: f.name, read: at !== undefined && read.has(at) };
  });
  return {
    read: named
      .filter((n) => n.read)
      .map((n) => n.name)
      .sort(),
    unread: named
      .filter((n) => !n.read)
      .map((n) => n.name)
      .sort(),
  };
}
