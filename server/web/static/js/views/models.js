// #/models: every model repository with its latest version (GraphQL `models`).
import { ApiError, gql } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { digestEl, timeEl } from '../format.js';
import { href } from '../router.js';

const QUERY = `query Models($filter: ModelFilter, $after: String) {
  models(filter: $filter, first: 50, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name versions { digest } aliases { name } latest { tag digest created framework aibom { author license } } } }
  }
}`;

/**
 * @param {HTMLElement} main
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderModels(main, ctx) {
  ctx.setTitle('Models');
  const results = h('div', { 'aria-live': 'polite' });
  const search = /** @type {HTMLInputElement} */ (
    h('input', { id: 'model-search', type: 'search', name: 'name', placeholder: 'e.g. iris' })
  );
  const form = h(
    'form',
    { class: 'inline', role: 'search' },
    h('label', { for: 'model-search' }, 'Filter by name'),
    search,
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Models')), form, results);

  /** @param {string | null} after */
  const load = async (after) => {
    const filter = search.value.trim() ? { name: search.value.trim() } : null;
    const data = await gql(QUERY, { filter, after }, ctx.signal);
    return data.models;
  };
  /**
   * @param {any} conn
   * @param {boolean} append
   */
  const show = (conn, append) => {
    /** @type {any[]} */
    const models = conn.edges.map((/** @type {any} */ e) => e.node);
    if (!append && models.length === 0) {
      replace(
        results,
        notice(
          'info',
          search.value.trim()
            ? `No model matches "${search.value.trim()}".`
            : 'No models yet. A succeeded training job publishes one.',
        ),
      );
      return;
    }
    let tbody = /** @type {HTMLElement | null} */ (results.querySelector('tbody'));
    if (!append || !tbody) {
      tbody = h('tbody');
      replace(
        results,
        h('p', { class: 'muted' }, `${conn.totalCount} model${conn.totalCount === 1 ? '' : 's'}`),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Model', 'Versions', 'Aliases', 'Latest', 'Framework', 'Author', 'License', 'Published'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            tbody,
          ),
        ),
      );
    }
    for (const m of models) {
      /** @type {HTMLElement} */ (tbody).append(
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: href.model(m.name) }, m.name)),
          h('td', {}, String(m.versions.length)),
          h('td', {}, m.aliases.map((/** @type {any} */ a) => a.name).join(', ')),
          h('td', {}, m.latest ? (m.latest.tag ?? digestEl(m.latest.digest)) : ''),
          h('td', {}, m.latest?.framework ?? ''),
          h('td', {}, m.latest?.aibom?.author ?? ''),
          h('td', {}, m.latest?.aibom?.license ?? ''),
          h('td', {}, timeEl(m.latest?.created)),
        ),
      );
    }
    results.querySelector('.more')?.remove();
    if (conn.pageInfo.hasNextPage) {
      results.append(
        h(
          'button',
          {
            type: 'button',
            class: 'secondary more',
            onclick: async () => show(await load(conn.pageInfo.endCursor), true),
          },
          'Load more',
        ),
      );
    }
  };
  const run = async () => {
    try {
      show(await load(null), false);
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(
        results,
        notice(
          'error',
          e instanceof ApiError && e.status === 404
            ? 'The GraphQL API (/graphql) is not available on this server yet.'
            : `Could not load models: ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void run();
  });
  await run();
}
