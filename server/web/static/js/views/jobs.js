// #/jobs: the job list with live state and epoch progress, and the form that submits a training job.
import { ApiError, followJobEvents, isTerminal, rest, sleep } from '../api.js';
import { jobStates } from '../contracts.js';
import { h, notice, replace } from '../dom.js';
import { duration, normState, stateBadge, timeEl } from '../format.js';
import { href } from '../router.js';
import { progressBar } from '../metrics.js';
import { imageForm, submitForm } from './job-forms.js';

/** At most this many jobs stream live at once: each SSE stream holds one of the browser's ~6 connections. */
const MAX_STREAMS = 4;
const REFRESH_MS = 5000;

/**
 * @typedef {{job: any, epoch: number, tr: HTMLTableRowElement, drawn?: string}} Row
 */

/**
 * @param {HTMLElement} main
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderJobs(main, ctx) {
  ctx.setTitle('Jobs');
  const tbody = h('tbody');
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const table = h(
    'table',
    { class: 'jobs' },
    h('caption', { class: 'visually-hidden' }, 'Training jobs, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Job', 'Model', 'State', 'Progress', 'Owner', 'Created', 'Run time'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    tbody,
  );
  const stateSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'job-state', name: 'state' },
      h('option', { value: '' }, 'all'),
      ...stateOrder.map((st) => h('option', { value: st }, st)),
    )
  );
  const filter = h('form', { class: 'inline' }, h('label', { for: 'job-state' }, 'State'), stateSelect);
  const EMPTY = 'No jobs yet. Submit one with the form above, the CLI (aibomgen submit) or the REST API.';
  const empty = notice('info', EMPTY);
  empty.hidden = true;
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Training jobs')),
    submitForm(),
    imageForm(),
    h(
      'section',
      { 'aria-labelledby': 'jobs-h' },
      h('h2', { id: 'jobs-h' }, 'Recent jobs'),
      filter,
      h('div', { class: 'table-wrap' }, table),
      empty,
      status,
    ),
  );

  /** @type {Map<string, Row>} */
  const rows = new Map();
  /** @type {Set<string>} */
  const streaming = new Set();

  async function refresh() {
    const q = new URLSearchParams({ limit: '50', ...(stateSelect.value ? { state: stateSelect.value } : {}) });
    const list = await rest(`/developer/jobs?${q}`, { signal: ctx.signal });
    /** @type {any[]} */
    const items = list.items ?? [];
    for (const job of items) {
      const row = rows.get(job.id);
      if (row) {
        row.job = { ...job, state: laterState(row.job.state, job.state) };
        drawRow(row);
      } else
        rows.set(job.id, {
          job,
          epoch: 0,
          tr: /** @type {HTMLTableRowElement} */ (h('tr', { 'data-job-id': job.id })),
        });
    }
    // Rows move only when the order changed: re-inserting a row would take keyboard focus off its link.
    const order = items.map((j) => /** @type {Row} */ (rows.get(j.id)).tr);
    if (order.length !== tbody.children.length || order.some((tr, i) => tbody.children[i] !== tr))
      tbody.replaceChildren(...order);
    for (const j of items) drawRow(/** @type {Row} */ (rows.get(j.id)));
    empty.textContent = stateSelect.value ? `No ${stateSelect.value} jobs.` : EMPTY;
    empty.hidden = items.length > 0;
    table.hidden = items.length === 0;
    for (const j of items) {
      if (streaming.size >= MAX_STREAMS) break;
      if (!isTerminal(j.state) && !streaming.has(j.id)) follow(j.id);
    }
  }

  /** @param {string} id */
  function follow(id) {
    streaming.add(id);
    followJobEvents(
      id,
      (e) => {
        const row = rows.get(id);
        if (!row) return;
        if (e.type === 'state')
          row.job = { ...row.job, state: e.state, ...(isTerminal(e.state) ? { finishedAt: e.at } : {}) };
        else if (e.type === 'epoch') row.epoch = Math.max(row.epoch, e.epoch);
        else return;
        drawRow(row);
      },
      ctx.signal,
    )
      .catch(() => {})
      .finally(() => streaming.delete(id));
  }

  stateSelect.addEventListener('change', () => {
    void refresh().catch((e) => {
      status.textContent = `Could not load jobs: ${e instanceof Error ? e.message : String(e)}`;
    });
  });
  try {
    await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      replace(status, 'The jobs API (/developer/jobs) is not available on this server yet.');
      table.hidden = true;
      return;
    }
    throw e;
  }
  // Poll for new jobs and final fields (publication, timings); live progress comes from the streams.
  void (async () => {
    while (!ctx.signal.aborted) {
      await sleep(REFRESH_MS, ctx.signal);
      if (ctx.signal.aborted) return;
      try {
        await refresh();
        status.textContent = '';
      } catch (e) {
        status.textContent = `Could not refresh: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  })();
}

/** @type {readonly string[]} */
const stateOrder = jobStates;

/**
 * A poll answer may be older than an event already seen on the stream: keep whichever is further along.
 * @param {string} seen
 * @param {string} polled
 */
function laterState(seen, polled) {
  return stateOrder.indexOf(normState(polled)) >= stateOrder.indexOf(normState(seen)) ? polled : seen;
}

/**
 * Redraws a row only when what it shows changed (a poll every few seconds must not reset focus or selection).
 * @param {Row} row
 */
function drawRow(row) {
  const j = row.job;
  const epochs = Number(j.params?.epochs) || 0;
  const st = normState(j.state);
  const done = st === 'succeeded' || st === 'attesting' || st === 'publishing';
  const epoch = done ? epochs : row.epoch;
  const drawn = JSON.stringify([
    st,
    epoch,
    epochs,
    j.publication?.digest,
    j.startedAt,
    j.finishedAt,
    j.metadata?.model_name,
  ]);
  if (row.drawn === drawn) return;
  row.drawn = drawn;
  const name = j.metadata?.model_name
    ? `${j.metadata.model_name}${j.metadata.model_version ? ` ${j.metadata.model_version}` : ''}`
    : '';
  const model = j.publication
    ? h(
        'a',
        { href: href.model(j.publication.repository, j.publication.digest) },
        j.publication.repository + (j.publication.tag ? `:${j.publication.tag}` : ''),
      )
    : name;
  row.tr.replaceChildren(
    h(
      'td',
      {},
      h(
        'a',
        { href: href.job(j.id), class: 'mono', title: j.id, 'aria-label': `Job ${j.id}` },
        j.id.length > 12 ? `${j.id.slice(0, 8)}…` : j.id,
      ),
    ),
    h('td', {}, model),
    h('td', {}, stateBadge(j.state)),
    h('td', {}, epochs ? progressBar(epoch, epochs, `Job ${j.id}`) : ''),
    h('td', {}, j.owner ?? ''),
    h('td', {}, timeEl(j.createdAt)),
    h('td', {}, duration(j.startedAt, j.finishedAt)),
  );
}
