// #/models/<repo>[@<digest>|:<tag>]: versions, aliases, metrics, the AIBoM, verification and pull commands.
import { ApiError, fetchAibom, gql, rest } from '../api.js';
import { commandLine, dl, h, notice, replace } from '../dom.js';
import { digestEl, stateBadge, timeEl } from '../format.js';
import { aibomDocument, aibomSummary } from '../aibom.js';
import { metricsSummary } from '../metrics.js';
import { href } from '../router.js';

const QUERY = `query Model($name: String!) {
  model(name: $name) {
    name
    aliases { name version { digest tag } }
    latest { digest }
    versions {
      id ref repository tag digest created framework metrics
      aibom { serialNumber name version author license datasets baseModels trainerImage isolated components }
      attestations { kind mediaType artifactType digest signerKeyId }
      job { id state }
    }
  }
}`;

const SET_ALIAS = `mutation SetAlias($model: String!, $alias: String!, $version: String!) { setAlias(model: $model, alias: $alias, version: $version) { name } }`;
const REMOVE_ALIAS = `mutation RemoveAlias($model: String!, $alias: String!) { removeAlias(model: $model, alias: $alias) { name } }`;

const VERIFY = `query Verify($ref: String!) { verify(ref: $ref) { ref digest verified checks { name passed reason } } }`;

/**
 * @param {HTMLElement} main
 * @param {string} repo
 * @param {string | undefined} version digest, tag or alias
 * @param {import('../main.js').ViewContext} ctx
 */
export async function renderModel(main, repo, version, ctx) {
  ctx.setTitle(repo);
  const data = await gql(QUERY, { name: repo }, ctx.signal).catch((e) => {
    if (e instanceof ApiError && e.status === 404) throw new Error('The GraphQL API (/graphql) is not available on this server yet.');
    throw e;
  });
  const model = data.model;
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: href.models() }, 'Models'), ' / ', repo);
  if (!model) {
    // Inputs pushed as artifacts (base-models/…, datasets/…) are in the registry and the lineage graph but are
    // not published models: offer their lineage and what was built from them instead.
    const digest = version && /^sha256:[0-9a-f]{64}$/.test(version) ? version : null;
    replace(main, crumbs, h('h1', {}, repo), digest
      ? notice('info', [`${repo} is not a published model (it is an input artifact). `,
        h('a', { href: href.lineage(repo, digest) }, 'Its lineage'), ' · ', h('a', { href: href.impact(digest) }, 'models built from it')])
      : notice('error', `No model named ${repo}.`));
    return;
  }
  /** @type {any[]} */
  const versions = model.versions;
  const alias = model.aliases.find((/** @type {any} */ a) => a.name === version);
  const wanted = alias?.version.digest ?? version ?? model.latest?.digest;
  const v = versions.find((x) => x.digest === wanted || (x.tag && x.tag === wanted)) ?? (version ? null : versions[0]);
  if (!v) {
    replace(main, crumbs, h('h1', {}, repo), notice('error', version ? `${repo} has no version ${version}.` : `${repo} has no versions.`), versionsTable(model, null));
    return;
  }

  const verifyBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Verifying the chain of evidence…'));
  const aibomFull = h('div');
  const loadAibom = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    loadAibom.setAttribute('disabled', '');
    replace(aibomFull, h('p', { class: 'muted' }, 'Fetching the AIBoM from the registry…'));
    try {
      replace(aibomFull, aibomDocument(await fetchAibom(repo, v.digest)));
      loadAibom.remove();
    } catch (e) {
      loadAibom.removeAttribute('disabled');
      replace(aibomFull, notice('error', `Could not fetch the AIBoM: ${e instanceof Error ? e.message : String(e)}`));
    }
  } }, 'Show the full AIBoM');

  replace(main,
    crumbs,
    h('div', { class: 'page-head' },
      h('h1', {}, repo, v.tag ? h('span', { class: 'tag' }, `:${v.tag}`) : null),
      h('a', { href: href.lineage(repo, v.digest), class: 'button', 'data-testid': 'model-lineage-link' }, 'Lineage')),
    h('div', { class: 'grid' },
      h('section', { 'aria-labelledby': 'ver-h' }, h('h2', { id: 'ver-h' }, 'This version'), versionFacts(v)),
      h('section', { 'aria-labelledby': 'verify-h' }, h('h2', { id: 'verify-h' }, 'Verification'), verifyBox)),
    h('section', { 'aria-labelledby': 'cmd-h' }, h('h2', { id: 'cmd-h' }, 'Get this model'), commands(repo, v.digest)),
    h('section', { 'aria-labelledby': 'versions-h' }, h('h2', { id: 'versions-h' }, 'Versions and aliases'), versionsTable(model, v.digest), aliasList(model, ctx), aliasForm(repo, v, ctx)),
    h('section', { 'aria-labelledby': 'met-h' }, h('h2', { id: 'met-h' }, 'Metrics'), metricsSummary(v.metrics)),
    h('section', { 'aria-labelledby': 'bom-h' }, h('h2', { id: 'bom-h' }, 'AI bill of materials'), aibomSummary(v.aibom), attestationsTable(v.attestations), loadAibom, aibomFull));

  void verify(`${repo}@${v.digest}`, ctx.signal).then((report) => replace(verifyBox, verificationView(report))).catch((e) => {
    if (!ctx.signal.aborted) replace(verifyBox, notice('error', `Verification could not run: ${e instanceof Error ? e.message : String(e)}`));
  });
}

/**
 * GraphQL `verify`; the REST verifier answers the same report where GraphQL is not served.
 * @param {string} ref
 * @param {AbortSignal} signal
 */
async function verify(ref, signal) {
  try {
    return (await gql(VERIFY, { ref }, signal)).verify;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    return rest(`/verifier/verify/${ref}`, { signal, accept: [422] });
  }
}

/** @param {any} report VerificationReport */
function verificationView(report) {
  /** @type {any[]} */
  const checks = report.checks ?? [];
  /** @param {any[]} list */
  const items = (list) => h('ul', { class: 'checks' }, ...list.map((c) => h('li', { class: c.passed ? 'pass' : 'fail' },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, c.passed ? '✔' : '✘'),
    h('span', { class: 'visually-hidden' }, c.passed ? 'passed: ' : 'failed: '),
    h('span', {}, c.name), c.reason ? h('small', {}, c.reason) : null)));
  const failed = checks.filter((c) => !c.passed);
  const passed = checks.filter((c) => c.passed);
  // Failures are always in view; the passed checks (28 on a good model) fold away.
  return h('div', {},
    h('p', { class: `verdict ${report.verified ? 'ok' : 'bad'}` }, report.verified ? '✔ Verified' : '✘ Not verified',
      h('span', { class: 'muted' }, ` — ${passed.length} of ${checks.length} checks passed`)),
    failed.length ? items(failed) : null,
    passed.length ? h('details', { class: 'checks-passed', open: !report.verified && passed.length < 8 }, h('summary', {}, `${passed.length} passed checks`), items(passed)) : null);
}

/** @param {any} v ModelVersion */
function versionFacts(v) {
  return dl([
    ['Reference', h('code', {}, v.ref)],
    ['Digest', h('code', { class: 'wrap' }, v.digest)],
    ['Tag', v.tag],
    ['Published', timeEl(v.created)],
    ['Framework', v.framework],
    ['Training job', v.job ? h('span', {}, h('a', { href: href.job(v.job.id) }, v.job.id), ' ', stateBadge(v.job.state)) : ''],
  ]);
}

/**
 * Commands to copy. The registry is this server (same host as the page); http means --plain-http.
 * @param {string} repo
 * @param {string} digest
 */
function commands(repo, digest) {
  const plainHttp = location.protocol === 'http:';
  const ref = `${location.host}/${repo}@${digest}`;
  return h('div', { class: 'commands' },
    commandLine('Pull with oras', `oras pull ${plainHttp ? '--plain-http ' : ''}-o ${repo.split('/').pop()} ${ref}`),
    commandLine('Verify the AIBoM attestation with cosign', `cosign verify-attestation --key platform.pub --type cyclonedx --insecure-ignore-tlog --new-bundle-format ${plainHttp ? '--allow-insecure-registry ' : ''}${ref}`),
    commandLine('Pull (verified first) with aibomgen', `aibomgen --server ${location.origin} pull ${repo}@${digest} -o ${repo.split('/').pop()}`),
    h('p', { class: 'muted' }, 'platform.pub is the platform\'s public key: ', h('a', { href: '/web/keys/platform.pub', download: 'platform.pub' }, 'download it'),
      ' (or copy keys/platform.pub from the server\'s data directory — the safer route, since this page is served by the same server).'));
}

/**
 * @param {any} model
 * @param {string | null} selected digest
 */
function versionsTable(model, selected) {
  /** @type {any[]} */
  const versions = model.versions;
  const aliasesOf = (/** @type {string} */ d) => model.aliases.filter((/** @type {any} */ a) => a.version.digest === d).map((/** @type {any} */ a) => a.name).join(', ');
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ...['Version', 'Digest', 'Aliases', 'Published', 'Job'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...versions.map((x) => h('tr', { class: x.digest === selected ? 'selected' : false, 'aria-current': x.digest === selected ? 'true' : false },
      h('td', {}, h('a', { href: href.model(model.name, x.digest) }, x.tag ?? '(untagged)')),
      h('td', {}, digestEl(x.digest)),
      h('td', {}, aliasesOf(x.digest)),
      h('td', {}, timeEl(x.created)),
      h('td', {}, x.job ? h('a', { href: href.job(x.job.id) }, x.job.id) : ''))))));
}

/**
 * Aliases (movable tags such as "prod"), each with a remove button.
 * @param {any} model
 * @param {import('../main.js').ViewContext} ctx
 */
function aliasList(model, ctx) {
  if (!model.aliases.length) return null;
  const message = h('div', { 'aria-live': 'assertive' });
  return h('div', {}, h('ul', { class: 'aliases', 'aria-label': 'Aliases' }, ...model.aliases.map((/** @type {any} */ a) => h('li', {},
    h('a', { href: href.model(model.name, a.name) }, a.name), ` → ${a.version.tag ?? a.version.digest.slice(0, 19)} `,
    h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove alias ${a.name}`, onclick: async () => {
      try {
        await gql(REMOVE_ALIAS, { model: model.name, alias: a.name });
        ctx.refresh();
      } catch (e) {
        replace(message, notice('error', `Could not remove ${a.name}: ${e instanceof Error ? e.message : String(e)}`));
      }
    } }, 'Remove')))), message);
}

/**
 * Points an alias at the version on screen (GraphQL setAlias; the registry tag moves).
 * @param {string} repo
 * @param {any} v
 * @param {import('../main.js').ViewContext} ctx
 */
function aliasForm(repo, v, ctx) {
  const message = h('div', { 'aria-live': 'assertive' });
  const input = /** @type {HTMLInputElement} */ (h('input', { id: 'alias-name', name: 'alias', type: 'text', required: true, placeholder: 'prod' }));
  const form = h('form', { class: 'inline' },
    h('label', { for: 'alias-name' }, `Point an alias at ${v.tag ?? 'this version'}`), input, h('button', { type: 'submit', class: 'secondary' }, 'Set alias'), message);
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

/** @param {any[]} atts */
function attestationsTable(atts) {
  if (!atts?.length) return null;
  return h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Attestations attached in the registry'),
    h('thead', {}, h('tr', {}, ...['Kind', 'Artifact type', 'Digest', 'Signer key'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...atts.map((a) => h('tr', {}, h('td', {}, a.kind), h('td', {}, h('code', {}, a.artifactType ?? a.mediaType)), h('td', {}, digestEl(a.digest)), h('td', {}, a.signerKeyId ? h('code', {}, a.signerKeyId.slice(0, 16)) : ''))))));
}
