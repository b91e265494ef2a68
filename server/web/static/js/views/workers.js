// #/workers: the operators' view (GraphQL `workers` and `queue`, administrators only): every node that runs
// jobs with its heartbeat, running job and GPUs, and the queue's depth and age. Refreshed every few seconds.
import { ApiError, gql, sleep } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { timeEl } from '../format.js';
import { href } from '../router.js';

const REFRESH_MS = 5000;
const QUERY = `{
  workers { id host state heartbeatAt startedAt runningJobs gpus concurrency keyId keyState engine }
  queue { engine depth oldestAgeSeconds leased }
}`;

/** @type {Record<string, string>} */
const BADGE = { LOST: 'state-failed', BUSY: 'state-running', IDLE: 'ok' };

/** @param {string} state */
const stateBadge = (state) =>
  h(
    'span',
    {
      class: `badge ${BADGE[state] ?? 'warn'}`,
    },
    state.toLowerCase(),
  );

/** @param {number} s */
const age = (s) =>
  s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;

/**
 * @param {HTMLElement} main
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderWorkers(main, ctx) {
  ctx.setTitle('Workers');
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const results = h('div');
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Workers')), summary, results);

  /** @param {any} data */
  const show = (data) => {
    const q = data.queue;
    const oldest = q.depth ? `, oldest for ${age(q.oldestAgeSeconds)}` : '';
    summary.textContent = `Queue (${q.engine}): ${q.depth} waiting${oldest}; ${q.leased} running.`;
    /** @type {any[]} */
    const workers = data.workers;
    if (workers.length === 0) {
      replace(results, notice('info', 'No worker has reported yet (start one with `aibomgen worker`).'));
      return;
    }
    const heads = ['Worker', 'State', 'Heartbeat', 'Running job', 'GPUs', 'Slots', 'Key id', 'Host'];
    replace(
      results,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'workers' },
          h('thead', {}, h('tr', {}, ...heads.map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            ...workers.map((w) =>
              h(
                'tr',
                { 'data-worker': w.id },
                h('td', {}, h('code', {}, w.id)),
                h('td', {}, stateBadge(w.state)),
                h('td', {}, timeEl(w.heartbeatAt)),
                h(
                  'td',
                  {},
                  .../** @type {string[]} */ (w.runningJobs).map((id) =>
                    h('a', { href: href.job(id) }, h('code', {}, id.slice(0, 8))),
                  ),
                ),
                h('td', {}, String(w.gpus)),
                h('td', {}, String(w.concurrency)),
                h(
                  'td',
                  {},
                  w.keyId ? h('code', { title: w.keyId }, w.keyId.slice(0, 16)) : '—',
                  w.keyState ? ` ${w.keyState.toLowerCase()}` : '',
                ),
                h('td', {}, w.host),
              ),
            ),
          ),
        ),
      ),
    );
  };
  for (;;) {
    try {
      show(await gql(QUERY, {}, ctx.signal));
    } catch (e) {
      if (ctx.signal.aborted) return;
      const forbidden = e instanceof ApiError && e.code === 'FORBIDDEN';
      replace(
        results,
        forbidden
          ? notice('info', 'The workers page is for administrators only. Sign in with an administrator token.')
          : notice('error', `Could not load the workers: ${e instanceof Error ? e.message : String(e)}`),
      );
      if (forbidden) return;
    }
    await sleep(REFRESH_MS, ctx.signal);
    if (ctx.signal.aborted) return; // the page was left
  }
}
