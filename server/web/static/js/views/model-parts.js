// The model page's parts (#/models/<repo>): the verification report, the versions table, alias list and form,
// and the attestations table.
import { ApiError, gql, rest } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { digestEl, timeEl } from '../format.js';
import { href } from '../router.js';

const SET_ALIAS = `mutation SetAlias($model: String!, $alias: String!, $version: String!) { setAlias(model: $model, alias: $alias, version: $version) { name } }`;
const REMOVE_ALIAS = `mutation RemoveAlias($model: String!, $alias: String!) { removeAlias(model: $model, alias: $alias) { name } }`;

const VERIFY = `query Verify($ref: String!) { verify(ref: $ref) { ref digest verified checks { name passed reason } completeness { score rubric missing { field category tier } } } }`;

/**
 * GraphQL `verify`; the REST verifier answers the same report where GraphQL is not served.
 * @param {string} ref
 * @param {AbortSignal} signal
 */
export async function verify(ref, signal) {
  try {
    return (await gql(VERIFY, { ref }, signal)).verify;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    return rest(`/verifier/verify/${ref}`, { signal, accept: [422] });
  }
}

/**
 * The counted AIBoM's completeness score (the verifier's rubric) and what it lacks.
 * @param {{ score: number, rubric: string, missing: { field: string, tier: string }[] } | null | undefined} c
 */
function completenessView(c) {
  if (!c) return null;
  return h(
    'p',
    { class: 'score', 'data-testid': 'aibom-score' },
    h('span', {}, `AIBoM completeness: ${c.score}/100`),
    h('span', { class: 'muted' }, ` (${c.rubric})`),
    c.missing.length ? h('small', {}, ` missing: ${c.missing.map((m) => `${m.field} (${m.tier})`).join(', ')}`) : null,
  );
}

/** @param {any} report VerificationReport */
export function verificationView(report) {
  /** @type {any[]} */
  const checks = report.checks ?? [];
  /** @param {any[]} list */
  const items = (list) =>
    h(
      'ul',
      { class: 'checks' },
      ...list.map((c) =>
        h(
          'li',
          { class: c.passed ? 'pass' : 'fail' },
          h('span', { class: 'mark', 'aria-hidden': 'true' }, c.passed ? '✔' : '✘'),
          h('span', { class: 'visually-hidden' }, c.passed ? 'passed: ' : 'failed: '),
          h('span', {}, c.name),
          c.reason ? h('small', {}, c.reason) : null,
        ),
      ),
    );
  const failed = checks.filter((c) => !c.passed);
  // A passed check with a reason is an attachment that did not count (unsigned, another key or model).
  const warned = checks.filter((c) => c.passed && c.reason);
  const passed = checks.filter((c) => c.passed && !c.reason);
  // Failures are always in view; the passed checks (28 on a good model) fold away.
  return h(
    'div',
    {},
    h(
      'p',
      { class: `verdict ${report.verified ? 'ok' : 'bad'}` },
      report.verified ? '✔ Verified' : '✘ Not verified',
      h('span', { class: 'muted' }, ` — ${passed.length} of ${checks.length} checks passed`),
    ),
    completenessView(report.completeness),
    failed.length ? items(failed) : null,
    warned.length
      ? h(
          'details',
          { class: 'checks-warned' },
          h(
            'summary',
            {},
            `${warned.length} attached but not counted (they do not verify or are not about this version)`,
          ),
          items(warned),
        )
      : null,
    passed.length
      ? h(
          'details',
          { class: 'checks-passed', open: !report.verified && passed.length < 8 },
          h('summary', {}, `${passed.length} passed checks`),
          items(passed),
        )
      : null,
  );
}

/**
 * @param {any} model
 * @param {string | null} selected digest
 */
export function versionsTable(model, selected) {
  /** @type {any[]} */
  const versions = model.versions;
  const aliasesOf = (/** @type {string} */ d) =>
    model.aliases
      .filter((/** @type {any} */ a) => a.version.digest === d)
      .map((/** @type {any} */ a) => a.name)
      .join(', ');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h('tr', {}, ...['Version', 'Digest', 'Aliases', 'Published', 'Job'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        ...versions.map((x) =>
          h(
            'tr',
            {
              class: x.digest === selected ? 'selected' : false,
              'aria-current': x.digest === selected ? 'true' : false,
            },
            h('td', {}, h('a', { href: href.model(model.name, x.digest) }, x.tag ?? '(untagged)')),
            h('td', {}, digestEl(x.digest)),
            h('td', {}, aliasesOf(x.digest)),
            h('td', {}, timeEl(x.created)),
            h('td', {}, x.job ? h('a', { href: href.job(x.job.id) }, x.job.id) : ''),
          ),
        ),
      ),
    ),
  );
}

/**
 * Aliases (movable tags such as "prod"), each with a remove button.
 * @param {any} model
 * @param {import('../router.js').ViewContext} ctx
 */
export function aliasList(model, ctx) {
  if (!model.aliases.length) return null;
  const message = h('div', { 'aria-live': 'assertive' });
  return h(
    'div',
    {},
    h(
      'ul',
      { class: 'aliases', 'aria-label': 'Aliases' },
      ...model.aliases.map((/** @type {any} */ a) =>
        h(
          'li',
          {},
          h('a', { href: href.model(model.name, a.name) }, a.name),
          ` → ${a.version.tag ?? a.version.digest.slice(0, 19)} `,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary small',
              'aria-label': `Remove alias ${a.name}`,
              onclick: async () => {
                try {
                  await gql(REMOVE_ALIAS, { model: model.name, alias: a.name });
                  ctx.refresh();
                } catch (e) {
                  replace(
                    message,
                    notice('error', `Could not remove ${a.name}: ${e instanceof Error ? e.message : String(e)}`),
                  );
                }
              },
            },
            'Remove',
          ),
        ),
      ),
    ),
    message,
  );
}

/**
 * Points an alias at the version on screen (GraphQL setAlias; the registry tag moves).
 * @param {string} repo
 * @param {any} v
 * @param {import('../router.js').ViewContext} ctx
 */
export function aliasForm(repo, v, ctx) {
  const message = h('div', { 'aria-live': 'assertive' });
  const input = /** @type {HTMLInputElement} */ (
    h('input', { id: 'alias-name', name: 'alias', type: 'text', required: true, placeholder: 'prod' })
  );
  const form = h(
    'form',
    { class: 'inline' },
    h('label', { for: 'alias-name' }, `Point an alias at ${v.tag ?? 'this version'}`),
    input,
    h('button', { type: 'submit', class: 'secondary' }, 'Set alias'),
    message,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await gql(SET_ALIAS, { model: repo, alias: input.value.trim(), version: v.digest });
      ctx.refresh();
    } catch (e) {
      input.setAttribute('aria-invalid', 'true');
      replace(message, notice('error', `Could not set the alias: ${e instanceof Error ? e.message : String(e)}`));
    }
  });
  return form;
}

/**
 * Referrers that did not verify: listed with the signer they name for themselves, marked unverified; their
 * content is never shown.
 * @param {any[]} list
 */
export function unverifiedTable(list) {
  if (!list?.length) return null;
  return h(
    'div',
    { class: 'table-wrap', 'data-testid': 'unverified-attachments' },
    h(
      'table',
      {},
      h('caption', {}, 'Unverified attachments (not signed by the platform, or not about this version: not shown)'),
      h(
        'thead',
        {},
        h('tr', {}, ...['Artifact type', 'Digest', 'Signer hint', 'Why not'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        ...list.map((a) =>
          h(
            'tr',
            { class: 'unverified' },
            h('td', {}, h('code', {}, a.artifactType ?? '')),
            h('td', {}, digestEl(a.digest)),
            h('td', {}, a.signerHint ? h('span', {}, h('code', {}, a.signerHint.slice(0, 16)), ' (unverified)') : ''),
            h('td', { class: 'wrap' }, `✘ ${a.reason}`),
          ),
        ),
      ),
    ),
  );
}

/** @param {any[]} atts */
export function attestationsTable(atts) {
  if (!atts?.length) return null;
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', {}, 'Attestations that verify with the platform key'),
      h(
        'thead',
        {},
        h('tr', {}, ...['Kind', 'Artifact type', 'Digest', 'Signer key'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        ...atts.map((a) =>
          h(
            'tr',
            {},
            h('td', {}, a.kind),
            h('td', {}, h('code', {}, a.artifactType ?? a.mediaType)),
            h('td', {}, digestEl(a.digest)),
            h('td', {}, a.signerKeyId ? h('code', {}, a.signerKeyId.slice(0, 16)) : ''),
          ),
        ),
      ),
    ),
  );
}
