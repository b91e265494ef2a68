import type { Writable } from 'node:stream';

type Stream = Writable & { isTTY?: boolean; columns?: number };

/** ANSI only for a terminal and only without NO_COLOR (https://no-color.org: any non-empty value). */
export function colorEnabled(stream: Stream): boolean {
  return !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** Whether live progress (bars, redrawn lines) may be drawn on `stream`. */
export function interactive(stream: Stream): boolean {
  return !!stream.isTTY && process.env.TERM !== 'dumb';
}

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function colors(stream: Stream = process.stdout): Colors {
  const on = colorEnabled(stream);
  const wrap =
    (open: number, close: number) =>
    (s: string): string =>
      on ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** `--json` output: pretty JSON on stdout, one document per command. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain left-aligned table (no box drawing, so it pastes cleanly and greps well). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `sha256:0123456789ab…` → `sha256:0123456789ab` (12 hex digits, like docker). */
export function shortDigest(d: string | undefined | null): string {
  if (!d) return '';
  const [alg, hex = ''] = d.split(':');
  return hex ? `${alg}:${hex.slice(0, 12)}` : d.slice(0, 19);
}

/** Metric values from training logs, rounded for reading: `loss=0.6931 acc=0.5`. */
export function formatLogs(logs: Record<string, unknown> | undefined): string {
  return Object.entries(logs ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : String(v)}`)
    .join(' ');
}

/** Metrics may hold arrays or objects (per-epoch history): summaries show the plain numbers only. */
export function numericOnly(m: Record<string, unknown> | null | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(m ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'));
}
