// #/audit: the audit log (GraphQL `auditLog`, administrators only): every mutating call and every refusal.
import { ApiError, gql } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { timeEl } from '../format.js';

const PAGE = 100;
const QUERY = `query Audit($limit: Int, $after: String, $actor: String, $action: String) {
  auditLog(limit: $limit, after: $after, actor: $actor, action: $action) {
    id at actor action target status result requestId detail
  }
}`;

/** @param {string} result */
const resultBadge = (result) =>
  h('span', { class: `badge ${result === 'ok' ? 'ok' : result === 'refused' ? 'warn' : 'state-failed'}` }, result);

/**
 * @param {HTMLElement} main
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderAudit(main, ctx) {
  ctx.setTitle('Audit log');
  const results = h('div', { 'aria-live': 'polite' });
  /**
   * @param {string} id
   * @param {string} label
   * @param {string} placeholder
   */
  const field = (id, label, placeholder) => {
    const input = /** @type {HTMLInputElement} */ (h('input', { id, type: 'search', name: id, placeholder }));
    return { input, parts: [h('label', { for: id }, label), input] };
  };
  const actor = field('audit-actor', 'Actor', 'e.g. alice, anonymous');
  const action = field('audit-action', 'Action contains', 'e.g. graphql, /v2/');
  const form = h(
    'form',
    { class: 'inline', role: 'search' },
    ...actor.parts,
    ...action.parts,
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Audit log')),
    h('p', { class: 'muted' }, 'Every call that changed something and every refusal, newest first.'),
    form,
    results,
  );

  /** @param {string | null} after */
  const load = async (after) => {
    const vars = {
      limit: PAGE,
      after,
      actor: actor.input.value.trim() || null,
      action: action.input.value.trim() || null,
    };
    return /** @type {any[]} */ ((await gql(QUERY, vars, ctx.signal)).auditLog);
  };
  /**
   * @param {any[]} entries
   * @param {boolean} append
   */
  const show = (entries, append) => {
    if (!append && entries.length === 0) {
      replace(results, notice('info', 'No audit entry matches.'));
      return;
    }
    let tbody = /** @type {HTMLElement | null} */ (results.querySelector('tbody'));
    if (!append || !tbody) {
      tbody = h('tbody');
      const heads = ['Time', 'Actor', 'Action', 'Target', 'Status', 'Result', 'Detail'];
      replace(
        results,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'audit' },
            h('thead', {}, h('tr', {}, ...heads.map((t) => h('th', { scope: 'col' }, t)))),
            tbody,
          ),
        ),
      );
    }
    for (const e of entries) {
      /** @type {HTMLElement} */ (tbody).append(
        h(
          'tr',
          { 'data-request-id': e.requestId ?? '' },
          h('td', {}, timeEl(e.at)),
          h('td', {}, e.actor),
          h('td', {}, h('code', {}, e.action)),
          h('td', {}, e.target ? h('code', { class: 'wrap' }, e.target) : ''),
          h('td', {}, String(e.status)),
          h('td', {}, resultBadge(e.result)),
          h('td', {}, e.detail ?? ''),
        ),
      );
    }
    results.querySelector('.more')?.remove();
    const last = entries.at(-1);
    if (entries.length === PAGE && last) {
      results.append(
        h(
          'button',
          { type: 'button', class: 'secondary more', onclick: async () => show(await load(last.id), true) },
          'Older entries',
        ),
      );
    }
  };
  const run = async () => {
    try {
      show(await load(null), false);
    } catch (e) {
      if (ctx.signal.aborted) return;
      const forbidden = e instanceof ApiError && e.code === 'FORBIDDEN';
      replace(
        results,
        forbidden
          ? notice('info', 'The audit log is for administrators only. Sign in with an administrator token.')
          : notice('error', `Could not load the audit log: ${e instanceof Error ? e.message : String(e)}`),
      );
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void run();
  });
  await run();
}
