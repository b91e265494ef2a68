// #/models/<repo>@<digest>/lineage: the upstream and downstream graph of a model version (GraphQL `lineage`)
// drawn as SVG with our own layered layout; every node links to its page.
import { ApiError, gql } from '../api.js';
import { h, notice, replace, s } from '../dom.js';
import { shortDigest } from '../format.js';
import { curvePath, layoutGraph } from '../lineage-layout.js';
import { href, joinRef, splitRef } from '../router.js';

const QUERY = `query Lineage($ref: String!, $direction: LineageDirection, $depth: Int) {
  lineage(ref: $ref, direction: $direction, depth: $depth) {
    nodes { id kind label digest ref }
    edges { from to kind }
  }
}`;

const NODE_W = 230;
/** Characters that fit on a node at the label's font size (SVG text does not wrap). */
const LABEL_CHARS = 34;
const NODE_H = 50;

/** Kind → the word shown on the node and in the list. */
const kindLabel = /** @type {Record<string, string>} */ ({
  MODEL_VERSION: 'model',
  DATASET: 'dataset',
  JOB: 'training job',
  TRAINER_IMAGE: 'trainer image',
});

/**
 * @typedef {{id: string, kind: string, label: string, digest?: string | null, ref?: string | null}} LineageNode
 * @typedef {{from: string, to: string, kind: string}} LineageEdge
 */

/**
 * Edges read subject → object (model TRAINED_ON dataset). The graph is drawn in the direction things flow,
 * upstream → downstream: the object comes first, except for PRODUCED (job PRODUCED model), already in flow order.
 * @param {LineageEdge} e
 */
export function flowOf(e) {
  return e.kind === 'PRODUCED' ? { from: e.from, to: e.to } : { from: e.to, to: e.from };
}

/**
 * Where a click on a node goes: a model's page, a job's page, or the list of models built from a digest.
 * @param {LineageNode} n
 * @returns {string | null}
 */
export function nodeHref(n) {
  const [prefix, ...rest] = n.id.split(':');
  const body = rest.join(':');
  if (n.kind === 'MODEL_VERSION' || prefix === 'model') {
    const { repo, version } = splitRef(n.ref?.replace(/^[^/]*[.:][^/]*\//, '') ?? body);
    return version ? href.model(repo, version) : href.model(repo);
  }
  if (n.kind === 'JOB' || prefix === 'job') return href.job(body);
  const digest = n.digest ?? /sha256:[0-9a-f]{64}/.exec(body)?.[0];
  return digest ? href.impact(digest) : null;
}

/**
 * @param {HTMLElement} main
 * @param {string} repo
 * @param {string} version digest (or tag)
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderLineage(main, repo, version, ctx) {
  const ref = joinRef(repo, version);
  ctx.setTitle(`Lineage of ${repo}`);
  const graphBox = h('div', { 'aria-live': 'polite' });
  const direction = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'lin-dir' },
      h('option', { value: 'BOTH' }, 'Upstream and downstream'),
      h('option', { value: 'UPSTREAM' }, 'Upstream only'),
      h('option', { value: 'DOWNSTREAM' }, 'Downstream only'),
    )
  );
  const depth = /** @type {HTMLInputElement} */ (
    h('input', { id: 'lin-depth', type: 'number', min: 1, max: 50, value: 10 })
  );
  const form = h(
    'form',
    { class: 'inline' },
    h('label', { for: 'lin-dir' }, 'Show'),
    direction,
    h('label', { for: 'lin-depth' }, 'Depth'),
    depth,
    h('button', { type: 'submit', class: 'secondary' }, 'Update'),
  );
  replace(
    main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: href.models() }, 'Models'),
      ' / ',
      h('a', { href: href.model(repo, version) }, repo),
      ' / lineage',
    ),
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Lineage of ', h('span', { class: 'mono' }, `${repo}@${shortDigest(version)}`)),
    ),
    h(
      'p',
      { class: 'muted' },
      'What this model was made from (left) and what was made from it (right). Select a node to open it.',
    ),
    form,
    graphBox,
  );

  const load = async () => {
    replace(graphBox, h('p', { class: 'muted' }, 'Loading the graph…'));
    try {
      const vars = { direction: direction.value, depth: Number(depth.value) || 10 };
      // `lineage(ref)` finds published model versions by "repo@digest"; input artifacts (base-models/…) only
      // by their node id "model:<repo>@<digest>", so that is the second try.
      const data = await gql(QUERY, { ...vars, ref }, ctx.signal).catch((e) => {
        if (e instanceof ApiError && e.notFound && version.startsWith('sha256:'))
          return gql(QUERY, { ...vars, ref: `model:${repo}@${version}` }, ctx.signal);
        throw e;
      });
      /** @type {{nodes: LineageNode[], edges: LineageEdge[]}} */
      const g = data.lineage;
      const focusId =
        g.nodes.find((n) => n.kind === 'MODEL_VERSION' && (n.id.endsWith(`@${version}`) || n.ref?.endsWith(ref)))?.id ??
        null;
      replace(
        graphBox,
        g.nodes.length ? drawGraph(g, focusId) : notice('info', 'No lineage recorded for this model version.'),
        g.nodes.length ? textAlternative(g) : null,
      );
      fitLabels(graphBox);
    } catch (e) {
      if (ctx.signal.aborted) return;
      const msg =
        e instanceof ApiError && e.status === 404
          ? 'The GraphQL API (/graphql) is not available on this server yet.'
          : `Could not load the lineage: ${e instanceof Error ? e.message : String(e)}`;
      replace(graphBox, notice('error', msg));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load();
  });
  await load();
}

/**
 * @param {{nodes: LineageNode[], edges: LineageEdge[]}} g
 * @param {string | null} focusId
 */
export function drawGraph(g, focusId) {
  const layout = layoutGraph(g.nodes, g.edges.map(flowOf), { nodeWidth: NODE_W, nodeHeight: NODE_H, gapX: 130 });
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  /** @type {Map<string, string[]>} edge kinds per drawn pair, so a job→model pair shows both words once */
  const kinds = new Map();
  for (const e of g.edges) {
    const f = flowOf(e);
    const key = `${f.from} ${f.to}`;
    kinds.set(key, [...(kinds.get(key) ?? []), e.kind.toLowerCase().replaceAll('_', ' ')]);
  }
  const svg = s(
    'svg',
    {
      class: 'lineage',
      role: 'group',
      'aria-label': `Lineage graph: ${g.nodes.length} nodes, ${g.edges.length} edges`,
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      width: layout.width,
      height: layout.height,
    },
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 8,
          markerHeight: 8,
          orient: 'auto-start-reverse',
        },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
    s(
      'g',
      { class: 'edges', 'aria-hidden': 'true' },
      ...layout.edges.map((e) => {
        // Label just after the start of the edge: edges that converge on one node still start apart, so their
        // labels do not pile up at the target (and the gap between columns is wide enough for two kinds).
        const [sx, sy] = e.points[0] ?? [0, 0];
        const [lx, ly] = [sx + 8, sy - 6];
        return s(
          'g',
          { class: 'edge', 'data-from': e.from, 'data-to': e.to },
          s('path', { d: curvePath(e.points), 'marker-end': 'url(#arrow)' }),
          s('text', { x: lx, y: ly, class: 'edge-label' }, (kinds.get(`${e.from} ${e.to}`) ?? []).join(', ')),
        );
      }),
    ),
    s(
      'g',
      { class: 'nodes' },
      ...layout.nodes.map((p) => {
        const n = /** @type {LineageNode} */ (byId.get(p.id));
        const link = nodeHref(n);
        const { name, digest } = splitLabel(n);
        // A first cut by length; fitLabels trims to the measured width once the graph is in the page.
        const label = name.length > LABEL_CHARS ? `${name.slice(0, LABEL_CHARS - 1)}…` : name;
        const kind = n.kind.toLowerCase().replaceAll('_', '-');
        const body = [
          s('title', {}, `${kindLabel[n.kind] ?? n.kind}: ${n.label}${n.digest ? `\n${n.digest}` : ''}`),
          s('rect', { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 8 }),
          s(
            'text',
            { x: p.x + 12, y: p.y + 19, class: 'node-kind' },
            s('tspan', { class: 'kind-word' }, kindLabel[n.kind] ?? n.kind),
            digest ? s('tspan', { class: 'node-digest' }, ` · ${digest.replace(/^sha256:/, '').slice(0, 12)}`) : null,
          ),
          s('text', { x: p.x + 12, y: p.y + 38, class: 'node-label' }, label),
        ];
        const cls = `node kind-${kind}${p.id === focusId ? ' focus' : ''}`;
        return link
          ? s(
              'a',
              {
                href: link,
                class: cls,
                'data-node-id': n.id,
                'data-kind': n.kind,
                'aria-label': `${kindLabel[n.kind] ?? n.kind} ${n.label}${p.id === focusId ? ' (this model)' : ''}`,
              },
              ...body,
            )
          : s('g', { class: cls, 'data-node-id': n.id, 'data-kind': n.kind }, ...body);
      }),
    ),
  );
  return h('div', { class: 'graph-wrap' }, svg);
}

/**
 * SVG text does not wrap: once the graph is in the document (where text can be measured), shorten every
 * node label that would cross its box, keeping the full text in the node's <title>.
 * @param {Element} root
 */
function fitLabels(root) {
  for (const el of root.querySelectorAll('svg.lineage text.node-label')) {
    const text = /** @type {SVGTextContentElement} */ (el);
    const full = text.textContent ?? '';
    let keep = full.length;
    while (keep > 4 && text.getComputedTextLength() > NODE_W - 24) {
      keep -= 1;
      text.textContent = `${full.slice(0, keep)}…`;
    }
  }
}

/**
 * "datasets/x.csv@sha256:…" shows as the name on the node and the short digest on its kind line.
 * @param {LineageNode} n
 * @returns {{name: string, digest: string | null}}
 */
function splitLabel(n) {
  const at = n.label.lastIndexOf('@');
  if (at > 0 && /^sha256:[0-9a-f]+$/.test(n.label.slice(at + 1)))
    return { name: n.label.slice(0, at), digest: n.label.slice(at + 1) };
  if (/^sha256:[0-9a-f]+$/.test(n.label)) return { name: shortDigest(n.label), digest: null };
  return { name: n.label, digest: n.digest ?? null };
}

/**
 * The same graph as lists, for screen readers and for copying digests.
 * @param {{nodes: LineageNode[], edges: LineageEdge[]}} g
 */
function textAlternative(g) {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const name = (/** @type {string} */ id) => byId.get(id)?.label ?? id;
  return h(
    'details',
    { class: 'graph-text' },
    h('summary', {}, 'The graph as text'),
    h('h2', {}, 'Nodes'),
    h(
      'ul',
      {},
      ...g.nodes.map((n) => {
        const link = nodeHref(n);
        return h(
          'li',
          {},
          `${kindLabel[n.kind] ?? n.kind}: `,
          link ? h('a', { href: link }, n.label) : n.label,
          n.digest ? h('code', { class: 'digest' }, ` ${n.digest}`) : null,
        );
      }),
    ),
    h('h2', {}, 'Relations'),
    h(
      'ul',
      {},
      ...g.edges.map((e) =>
        h('li', {}, `${name(e.from)} — ${e.kind.toLowerCase().replaceAll('_', ' ')} → ${name(e.to)}`),
      ),
    ),
  );
}
