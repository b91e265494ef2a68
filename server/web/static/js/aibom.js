// The AIBoM (CycloneDX 1.6) as readable sections: the GraphQL summary, and the full document on request.
import { dl, h } from './dom.js';
import { digestEl, plain, timeEl } from './format.js';
import { href, splitRef } from './router.js';

/**
 * A "repo@sha256:…" reference becomes a link to its model page; a bare digest a link to what uses it.
 * @param {string} ref
 */
export function refLink(ref) {
  const { repo, version } = splitRef(ref);
  if (version?.startsWith('sha256:') && repo.startsWith('models/'))
    return h('a', { href: href.model(repo, version) }, ref);
  const digest = /sha256:[0-9a-f]{64}/.exec(ref)?.[0];
  return digest ? h('a', { href: href.impact(digest), title: 'Models built from this' }, ref) : h('code', {}, ref);
}

/**
 * The GraphQL AibomSummary (of the verified AIBoM) as a definition list.
 * @param {any} a AibomSummary
 */
export function aibomSummary(a) {
  // Only an AIBoM signed by the platform key and about this version is summarized (the server decides).
  if (!a)
    return h('p', { class: 'muted' }, 'No verified AIBoM: none attached to this version is signed by the platform.');
  /** @param {string[]} refs */
  const list = (refs) => (refs?.length ? h('ul', { class: 'plain' }, ...refs.map((r) => h('li', {}, refLink(r)))) : '');
  return dl([
    ['Name', a.name],
    ['Version', a.version],
    ['Author', a.author],
    ['License', a.license],
    ['Training data', list(a.datasets)],
    ['Base models', list(a.baseModels)],
    ['Trainer image', a.trainerImage ? refLink(a.trainerImage) : ''],
    [
      'Isolated training',
      a.isolated === null || a.isolated === undefined ? '' : a.isolated ? 'yes (container)' : 'no (process runner)',
    ],
    ['Components', String(a.components ?? '')],
    ['Serial number', a.serialNumber ? h('code', {}, a.serialNumber) : ''],
  ]);
}

/** Workflow properties by prefix ("aibomgen:param:epochs" → Parameters / epochs), in this order. */
const PROPERTY_GROUPS = [
  ['aibomgen:param:', 'Training parameters'],
  ['aibomgen:env:', 'Environment'],
  ['', 'Run'],
];

/**
 * @param {{name: string, value: unknown}[]} props
 */
function propertyGroups(props) {
  /** @type {Set<string>} */
  const used = new Set();
  return PROPERTY_GROUPS.map(([prefix, title]) => {
    const mine = props.filter((p) => !used.has(p.name) && p.name.startsWith(/** @type {string} */ (prefix)));
    for (const p of mine) used.add(p.name);
    if (!mine.length) return null;
    const short = (/** @type {string} */ n) =>
      prefix ? n.slice(/** @type {string} */ (prefix).length) : n.replace(/^aibomgen:/, '');
    return h(
      'div',
      {},
      h('h4', {}, /** @type {string} */ (title)),
      dl(mine.map((p) => /** @type {[string, string]} */ ([short(p.name), plain(p.value)]))),
    );
  });
}

/**
 * The full CycloneDX document in sections: metadata, model card, components, formulation, signature, raw JSON.
 * @param {any} bom
 */
export function aibomDocument(bom) {
  const model = bom?.metadata?.component ?? {};
  const card = model.modelCard ?? {};
  /** @type {any[]} */
  const components = bom?.components ?? [];
  /** @type {any[]} */
  const workflows = (bom?.formulation ?? []).flatMap((/** @type {any} */ f) => f.workflows ?? []);
  /** @type {any[]} */
  const perf = card.quantitativeAnalysis?.performanceMetrics ?? [];
  const cons = card.considerations ?? {};
  /** @param {any} c */
  const sha = (c) => (c.hashes ?? []).map((/** @type {any} */ x) => `${x.alg}:${x.content}`).join(' ');
  /** @param {any} c */
  const role = (c) => (c.properties ?? []).find((/** @type {any} */ p) => p.name === 'aibomgen:role')?.value ?? '';

  return h(
    'div',
    { class: 'aibom' },
    h('h3', {}, 'Document'),
    dl([
      ['Format', `${bom.bomFormat ?? 'CycloneDX'} ${bom.specVersion ?? ''}`],
      ['Serial number', bom.serialNumber ? h('code', {}, bom.serialNumber) : ''],
      ['Created', timeEl(bom.metadata?.timestamp)],
      [
        'Tools',
        (bom.metadata?.tools?.components ?? [])
          .map((/** @type {any} */ t) => `${t.name} ${t.version ?? ''}`)
          .join(', '),
      ],
      ['Signature', bom.signature ? `JSF ${bom.signature.algorithm}` : 'none'],
    ]),
    h('h3', {}, 'Model'),
    dl([
      ['Name', model.name],
      ['Version', model.version],
      ['Type', model.type],
      ['Author', model.author],
      ['Description', model.description],
      [
        'License',
        (model.licenses ?? [])
          .map((/** @type {any} */ l) => l.license?.name ?? l.license?.id ?? l.expression)
          .filter(Boolean)
          .join(', '),
      ],
      ['Package URL', model.purl ? h('code', {}, model.purl) : ''],
      ['Task', card.modelParameters?.task],
      ['Architecture family', card.modelParameters?.architectureFamily],
      ['Use cases', (cons.useCases ?? []).join('; ')],
      ['Limitations', (cons.technicalLimitations ?? []).join('; ')],
      ['Misuse considerations', (cons.ethicalConsiderations ?? []).map((/** @type {any} */ e) => e.name).join('; ')],
    ]),
    perf.length
      ? h(
          'table',
          { class: 'numeric compact' },
          h('caption', {}, 'Performance metrics'),
          h('tbody', {}, ...perf.map((m) => h('tr', {}, h('th', { scope: 'row' }, m.type), h('td', {}, m.value)))),
        )
      : null,
    h('h3', {}, `Components (${components.length})`),
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
            ...['Name', 'Type', 'Role', 'Version', 'SHA-256 / purl'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          ...components.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, c.name),
              h('td', {}, c.type),
              h('td', {}, role(c)),
              h('td', {}, c.version ?? ''),
              h(
                'td',
                { class: 'wrap' },
                c.purl ? h('code', {}, c.purl) : sha(c) ? digestEl(sha(c).replace(/^SHA-256:/, 'sha256:')) : '',
              ),
            ),
          ),
        ),
      ),
    ),
    workflows.length ? h('h3', {}, 'Formulation') : null,
    ...workflows.flatMap((w) => [
      dl([
        ['Workflow', w.name],
        ['Task types', (w.taskTypes ?? []).join(', ')],
        ['Started', timeEl(w.timeStart)],
        ['Ended', timeEl(w.timeEnd)],
        [
          'Inputs',
          (w.inputs ?? [])
            .map((/** @type {any} */ i) => i.resource?.ref)
            .filter(Boolean)
            .join(', '),
        ],
        [
          'Outputs',
          (w.outputs ?? [])
            .map((/** @type {any} */ i) => i.resource?.ref)
            .filter(Boolean)
            .join(', '),
        ],
      ]),
      ...propertyGroups(w.properties ?? []),
    ]),
    h(
      'details',
      {},
      h('summary', {}, 'Raw JSON'),
      h('pre', { class: 'json', tabindex: 0 }, JSON.stringify(bom, null, 2)),
    ),
  );
}
