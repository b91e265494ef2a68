// #/artifacts/<digest>: a dataset, base model or trainer image by digest, and every model version built from it.
import { ApiError, gql } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { digestEl, timeEl } from '../format.js';
import { href } from '../router.js';

const QUERY = `query Impact($digest: String!) { impact(digest: $digest) { ref repository tag digest created } }`;

/**
 * @param {HTMLElement} main
 * @param {string} digest
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderImpact(main, digest, ctx) {
  ctx.setTitle(`Built from ${digest.slice(0, 19)}`);
  const head = [
    h('h1', {}, 'Built from ', h('code', { class: 'wrap' }, digest)),
    h(
      'p',
      { class: 'muted' },
      'Every model version downstream of this content: trained on it, fine-tuned from it, or trained in it.',
    ),
  ];
  /** @type {any[]} */
  let versions;
  try {
    versions = (await gql(QUERY, { digest }, ctx.signal)).impact;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404)
      throw new Error('The GraphQL API (/graphql) is not available on this server yet.');
    if (!(e instanceof ApiError && e.notFound)) throw e;
    replace(main, ...head, notice('info', `Nothing in the registry's lineage index has the digest ${digest}.`));
    return;
  }
  replace(
    main,
    ...head,
    versions.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h('tr', {}, ...['Model', 'Tag', 'Digest', 'Published', ''].map((t) => h('th', { scope: 'col' }, t))),
            ),
            h(
              'tbody',
              {},
              ...versions.map((v) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: href.model(v.repository, v.digest) }, v.repository)),
                  h('td', {}, v.tag ?? ''),
                  h('td', {}, digestEl(v.digest)),
                  h('td', {}, timeEl(v.created)),
                  h('td', {}, h('a', { href: href.lineage(v.repository, v.digest) }, 'lineage')),
                ),
              ),
            ),
          ),
        )
      : notice('info', 'No model version is recorded downstream of this digest.'),
  );
}
