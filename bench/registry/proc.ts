/** What the registry bench reads of its processes: CPU time, memory and bytes written, from /proc. */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export async function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
}
export const vmHwmMb = (pid: number) => procStatusMb(pid, 'VmHWM');

/** CPU seconds (user + system) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15 of stat)
}
/** CPU seconds per GiB spent during `phase` by this process (the client), the server and the upstream. */
export async function cpuOf<T>(
  pids: { server?: number; upstream: number },
  gib: number,
  phase: () => Promise<T>,
): Promise<[T, Cpu]> {
  const read = async () => ({
    client: process.cpuUsage(),
    server: pids.server ? await cpuSeconds(pids.server) : 0,
    upstream: await cpuSeconds(pids.upstream),
  });
  const a = await read();
  const out = await phase();
  const b = await read();
  const client = (b.client.user + b.client.system - a.client.user - a.client.system) / 1e6;
  return [
    out,
    { client: client / gib, server: (b.server - a.server) / gib, upstream: (b.upstream - a.upstream) / gib },
  ];
}
export interface Cpu {
  client: number;
  server: number;
  upstream: number;
}
export const fmtCpu = (c: Cpu, withServer: boolean) =>
  `CPU s/GiB client ${c.client.toFixed(2)}${withServer ? ` server ${c.server.toFixed(2)}` : ''} upstream ${c.upstream.toFixed(2)}`;

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Runs `phase` while sampling the process's RSS every 50 ms; returns its result and the highest sample. */
export async function sampled<T>(pid: number, phase: () => Promise<T>): Promise<[T, number]> {
  let max = 0;
  const timer = setInterval(
    () =>
      void procStatusMb(pid, 'VmRSS').then(
        (mb) => (max = Math.max(max, mb)),
        () => {},
      ),
    50,
  );
  try {
    return [await phase(), max];
  } finally {
    clearInterval(timer);
  }
}

/**
 * Flushes dirty pages before each timed transfer: otherwise the kernel writes back the GiBs earlier steps
 * stored while a later target is being timed, and the targets measured last in a run look slower.
 */
export function settle(): void {
  spawnSync('sync');
}

/**
 * Bytes `pid` has passed to write-type system calls so far (/proc/<pid>/io wchar): sockets included, so the
 * difference over a pull is what the front sent (its logs, at LOG_LEVEL=warn, are a few bytes).
 */
export async function bytesWritten(pid: number): Promise<number> {
  return Number(/wchar:\s+(\d+)/.exec(await readFile(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}
