// Training metrics: a progress bar, the per-epoch table and a small SVG line chart (no chart library).
import { h, s } from './dom.js';
import { num } from './format.js';

/**
 * @param {number} done
 * @param {number} total
 * @param {string} what accessible name, e.g. "Job 42"
 */
export function progressBar(done, total, what) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return h(
    'div',
    { class: 'progress' },
    h('progress', { max: total, value: Math.min(done, total), 'aria-label': `${what}: epoch ${done} of ${total}` }),
    h('span', { class: 'progress-text' }, `${done}/${total} (${pct}%)`),
  );
}

/**
 * @typedef {{epoch: number, logs: Record<string, number>}} EpochRow
 */

/** @param {EpochRow[]} history */
function metricNames(history) {
  /** @type {Set<string>} */
  const names = new Set();
  for (const r of history) for (const k of Object.keys(r.logs ?? {})) names.add(k);
  return [...names];
}

/**
 * @param {EpochRow[]} history
 * @param {string} caption
 */
export function epochTable(history, caption) {
  const names = metricNames(history);
  return h(
    'div',
    { class: 'table-wrap epochs', tabindex: 0, role: 'region', 'aria-label': caption },
    h(
      'table',
      { class: 'numeric' },
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'Epoch'), ...names.map((n) => h('th', { scope: 'col' }, n))),
      ),
      h(
        'tbody',
        {},
        ...history.map((r) =>
          h('tr', {}, h('th', { scope: 'row' }, String(r.epoch)), ...names.map((n) => h('td', {}, num(r.logs?.[n])))),
        ),
      ),
    ),
  );
}

const W = 480;
const H = 200;
const PAD = { l: 48, r: 12, t: 12, b: 28 };

/**
 * Line chart of every metric whose name contains "loss" (the quantities on one scale), one line each.
 * Returns null when there is nothing to draw.
 * @param {EpochRow[]} history
 */
export function lossChart(history) {
  const names = metricNames(history).filter((n) => n.includes('loss'));
  const points = history.filter((r) => names.some((n) => Number.isFinite(r.logs?.[n])));
  if (names.length === 0 || points.length < 2) return null;
  const values = points.flatMap((r) => names.map((n) => r.logs?.[n]).filter((v) => Number.isFinite(v)));
  // Scale to the data (not from 0): losses that move in the third decimal should still show a slope.
  const min = Math.min(...values);
  const max = Math.max(...values);
  const pad = (max - min) * 0.08 || Math.abs(max) * 0.05 || 1;
  const lo = min - pad;
  const hi = max + pad;
  const e0 = points[0]?.epoch ?? 0;
  const e1 = points[points.length - 1]?.epoch ?? 1;
  /** @param {number} e */
  const x = (e) => PAD.l + ((e - e0) / Math.max(1, e1 - e0)) * (W - PAD.l - PAD.r);
  /** @param {number} v */
  const y = (v) => PAD.t + (1 - (v - lo) / (hi - lo || 1)) * (H - PAD.t - PAD.b);
  const summary = names
    .map((n) => {
      const last = points[points.length - 1]?.logs?.[n];
      return `${n} ${num(points[0]?.logs?.[n])} → ${num(last)}`;
    })
    .join(', ');
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `Loss per epoch: ${summary}` },
    s('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }),
    s('line', { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: 'axis' }),
    s('text', { x: PAD.l - 6, y: y(hi) + 4, 'text-anchor': 'end', class: 'tick' }, num(hi)),
    s('text', { x: PAD.l - 6, y: y(lo) + 4, 'text-anchor': 'end', class: 'tick' }, num(lo)),
    s('text', { x: PAD.l, y: H - 8, class: 'tick' }, `epoch ${e0}`),
    s('text', { x: W - PAD.r, y: H - 8, 'text-anchor': 'end', class: 'tick' }, `epoch ${e1}`),
    ...names.map((n, i) =>
      s('polyline', {
        class: `series series-${i % 4}`,
        points: points
          .filter((r) => Number.isFinite(r.logs?.[n]))
          .map((r) => `${x(r.epoch).toFixed(1)},${y(/** @type {number} */ (r.logs[n])).toFixed(1)}`)
          .join(' '),
      }),
    ),
  );
  const legend = h(
    'ul',
    { class: 'legend' },
    ...names.map((n, i) => h('li', {}, h('span', { class: `swatch series-${i % 4}`, 'aria-hidden': 'true' }), n)),
  );
  return h('figure', { class: 'chart-box' }, svg, h('figcaption', {}, legend));
}

/**
 * The trainer's metrics.json (schema/trainer.ts TrainMetrics) as readable sections; unknown shapes as a table.
 * @param {any} metrics
 */
export function metricsSummary(metrics) {
  if (!metrics || typeof metrics !== 'object') return h('p', { class: 'muted' }, 'No metrics recorded.');
  /** @type {EpochRow[]} */
  const history = Array.isArray(metrics.history) ? metrics.history : [];
  const final = metrics.final && typeof metrics.final === 'object' ? metrics.final : null;
  const facts = [
    ['Backend', metrics.backend],
    ['Train time', typeof metrics.train_seconds === 'number' ? `${metrics.train_seconds.toFixed(1)} s` : ''],
    [
      'Throughput',
      typeof metrics.samples_per_second === 'number' ? `${Math.round(metrics.samples_per_second)} samples/s` : '',
    ],
    [
      'Samples',
      metrics.dataset
        ? `${metrics.dataset.samples} (${metrics.dataset.train_samples} train, ${metrics.dataset.validation_samples} validation)`
        : '',
    ],
    ['Parameters', metrics.model?.param_count],
    ['Seed', metrics.seed],
  ].filter(([, v]) => v !== undefined && v !== '');
  const known = new Set([
    'history',
    'final',
    'backend',
    'train_seconds',
    'samples_per_second',
    'dataset',
    'model',
    'seed',
    'params',
    'versions',
  ]);
  const other = Object.entries(metrics).filter(
    ([k, v]) => !known.has(k) && (typeof v === 'number' || typeof v === 'string'),
  );
  return h(
    'div',
    { class: 'metrics' },
    final
      ? h(
          'table',
          { class: 'numeric compact' },
          h('caption', {}, 'Final metrics'),
          h(
            'tbody',
            {},
            ...Object.entries(final).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, num(v)))),
          ),
        )
      : null,
    facts.length || other.length
      ? h(
          'table',
          { class: 'compact' },
          h('caption', {}, 'Run'),
          h(
            'tbody',
            {},
            ...[...facts, ...other].map(([k, v]) =>
              h('tr', {}, h('th', { scope: 'row' }, String(k)), h('td', {}, num(v))),
            ),
          ),
        )
      : null,
    lossChart(history),
    history.length ? epochTable(history, 'Per epoch') : null,
  );
}
