// Formatting of times, sizes, digests and job states for display.
import { h } from './dom.js';

/** @param {string | null | undefined} iso */
export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * A <time> element with the exact ISO value as its machine-readable datetime.
 * @param {string | null | undefined} iso
 */
export function timeEl(iso) {
  if (!iso) return '';
  return h('time', { datetime: iso, title: iso }, time(iso));
}

/**
 * @param {string | null | undefined} from
 * @param {string | null | undefined} to
 */
export function duration(from, to) {
  if (!from || !to) return '';
  const ms = new Date(to).getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** @param {number | null | undefined} n */
export function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/**
 * "sha256:1234abcd…" — the full digest stays in the title.
 * @param {string | null | undefined} digest
 */
export function shortDigest(digest) {
  if (!digest) return '';
  const [alg, hex] = digest.includes(':') ? digest.split(':', 2) : ['', digest];
  return `${alg ? `${alg}:` : ''}${(hex ?? '').slice(0, 12)}…`;
}

/** @param {string | null | undefined} digest */
export function digestEl(digest) {
  if (!digest) return '';
  return h('code', { class: 'digest', title: digest }, shortDigest(digest));
}

/**
 * REST says "succeeded", GraphQL says "SUCCEEDED": the UI speaks lower case.
 * @param {string | null | undefined} state
 */
export function normState(state) {
  return (state ?? 'unknown').toLowerCase();
}

/**
 * A state badge; colour is never the only cue (the word is always there).
 * @param {string | null | undefined} state
 */
export function stateBadge(state) {
  const st = normState(state);
  return h('span', { class: `badge state-${st}` }, st);
}

/** @param {unknown} v */
export function num(v) {
  if (typeof v !== 'number') return v === null || v === undefined ? '' : String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toExponential(3) : v.toFixed(4);
}

/**
 * Any JSON value as readable text for a table cell.
 * @param {unknown} v
 */
export function plain(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
