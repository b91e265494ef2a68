// #/models/<repo>[@<digest>|:<tag>]: versions, aliases, metrics, the AIBoM, verification and pull commands.
import { ApiError, gql } from '../api.js';
import { commandLine, dl, h, notice, replace } from '../dom.js';
import { stateBadge, timeEl } from '../format.js';
import { aibomDocument, aibomSummary } from '../aibom.js';
import { metricsSummary } from '../metrics.js';
import { href } from '../router.js';
import {
  aliasForm,
  aliasList,
  attestationsTable,
  unverifiedTable,
  verificationView,
  verify,
  versionsTable,
} from './model-parts.js';

// The AIBoM document the server verified (signature by the platform key, about this version): never the
// newest or first referrer of the registry, which anyone allowed to push could have attached.
const AIBOM_DOCUMENT = `query AibomDocument($ref: String!) { modelVersion(ref: $ref) { aibomDocument } }`;

/**
 * @param {string} repo
 * @param {string} digest
 */
async function fetchVerifiedAibom(repo, digest) {
  const doc = (await gql(AIBOM_DOCUMENT, { ref: `${repo}@${digest}` })).modelVersion?.aibomDocument;
  if (!doc) throw new Error('no AIBoM attached to this version verifies with the platform key');
  return doc;
}

const QUERY = `query Model($name: String!) {
  model(name: $name) {
    name
    aliases { name version { digest tag } }
    latest { digest }
    versions {
      id ref repository tag digest created framework metrics
      aibom { serialNumber name version author license datasets baseModels trainerImage isolated components }
      attestations { kind mediaType artifactType digest signerKeyId }
      unverifiedAttachments { digest artifactType signerHint verified reason }
      job { id state }
    }
  }
}`;

/**
 * @param {HTMLElement} main
 * @param {string} repo
 * @param {string | undefined} version digest, tag or alias
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderModel(main, repo, version, ctx) {
  ctx.setTitle(repo);
  const data = await gql(QUERY, { name: repo }, ctx.signal).catch((e) => {
    if (e instanceof ApiError && e.status === 404)
      throw new Error('The GraphQL API (/graphql) is not available on this server yet.');
    throw e;
  });
  const model = data.model;
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: href.models() }, 'Models'), ' / ', repo);
  if (!model) {
    // Inputs pushed as artifacts (base-models/…, datasets/…) are in the registry and the lineage graph but are
    // not published models: offer their lineage and what was built from them instead.
    const digest = version && /^sha256:[0-9a-f]{64}$/.test(version) ? version : null;
    replace(
      main,
      crumbs,
      h('h1', {}, repo),
      digest
        ? notice('info', [
            `${repo} is not a published model (it is an input artifact). `,
            h('a', { href: href.lineage(repo, digest) }, 'Its lineage'),
            ' · ',
            h('a', { href: href.impact(digest) }, 'models built from it'),
          ])
        : notice('error', `No model named ${repo}.`),
    );
    return;
  }
  /** @type {any[]} */
  const versions = model.versions;
  const alias = model.aliases.find((/** @type {any} */ a) => a.name === version);
  const wanted = alias?.version.digest ?? version ?? model.latest?.digest;
  const v = versions.find((x) => x.digest === wanted || (x.tag && x.tag === wanted)) ?? (version ? null : versions[0]);
  if (!v) {
    replace(
      main,
      crumbs,
      h('h1', {}, repo),
      notice('error', version ? `${repo} has no version ${version}.` : `${repo} has no versions.`),
      versionsTable(model, null),
    );
    return;
  }

  const verifyBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Verifying the chain of evidence…'));
  const aibomFull = h('div');
  const loadAibom = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        loadAibom.setAttribute('disabled', '');
        replace(aibomFull, h('p', { class: 'muted' }, 'Fetching the AIBoM from the registry…'));
        try {
          replace(aibomFull, aibomDocument(await fetchVerifiedAibom(repo, v.digest)));
          loadAibom.remove();
        } catch (e) {
          loadAibom.removeAttribute('disabled');
          replace(
            aibomFull,
            notice('error', `Could not fetch the AIBoM: ${e instanceof Error ? e.message : String(e)}`),
          );
        }
      },
    },
    'Show the full AIBoM',
  );

  replace(
    main,
    crumbs,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, repo, v.tag ? h('span', { class: 'tag' }, `:${v.tag}`) : null),
      h('a', { href: href.lineage(repo, v.digest), class: 'button', 'data-testid': 'model-lineage-link' }, 'Lineage'),
    ),
    h(
      'div',
      { class: 'grid' },
      h('section', { 'aria-labelledby': 'ver-h' }, h('h2', { id: 'ver-h' }, 'This version'), versionFacts(v)),
      h('section', { 'aria-labelledby': 'verify-h' }, h('h2', { id: 'verify-h' }, 'Verification'), verifyBox),
    ),
    h('section', { 'aria-labelledby': 'cmd-h' }, h('h2', { id: 'cmd-h' }, 'Get this model'), commands(repo, v.digest)),
    h(
      'section',
      { 'aria-labelledby': 'versions-h' },
      h('h2', { id: 'versions-h' }, 'Versions and aliases'),
      versionsTable(model, v.digest),
      aliasList(model, ctx),
      aliasForm(repo, v, ctx),
    ),
    h('section', { 'aria-labelledby': 'met-h' }, h('h2', { id: 'met-h' }, 'Metrics'), metricsSummary(v.metrics)),
    h(
      'section',
      { 'aria-labelledby': 'bom-h' },
      h('h2', { id: 'bom-h' }, 'AI bill of materials'),
      aibomSummary(v.aibom),
      attestationsTable(v.attestations),
      v.aibom ? loadAibom : null,
      aibomFull,
      unverifiedTable(v.unverifiedAttachments),
    ),
  );

  void verify(`${repo}@${v.digest}`, ctx.signal)
    .then((report) => replace(verifyBox, verificationView(report)))
    .catch((e) => {
      if (!ctx.signal.aborted)
        replace(
          verifyBox,
          notice('error', `Verification could not run: ${e instanceof Error ? e.message : String(e)}`),
        );
    });
}

/** @param {any} v ModelVersion */
function versionFacts(v) {
  return dl([
    ['Reference', h('code', {}, v.ref)],
    ['Digest', h('code', { class: 'wrap' }, v.digest)],
    ['Tag', v.tag],
    ['Published', timeEl(v.created)],
    ['Framework', v.framework],
    [
      'Training job',
      v.job ? h('span', {}, h('a', { href: href.job(v.job.id) }, v.job.id), ' ', stateBadge(v.job.state)) : '',
    ],
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
  return h(
    'div',
    { class: 'commands' },
    commandLine('Pull with oras', `oras pull ${plainHttp ? '--plain-http ' : ''}-o ${repo.split('/').pop()} ${ref}`),
    commandLine(
      'Verify the AIBoM attestation with cosign',
      `cosign verify-attestation --key platform.pub --type cyclonedx --insecure-ignore-tlog --new-bundle-format ${plainHttp ? '--allow-insecure-registry ' : ''}${ref}`,
    ),
    commandLine(
      'Pull (verified first) with aibomgen',
      `aibomgen --server ${location.origin} pull ${repo}@${digest} -o ${repo.split('/').pop()}`,
    ),
    h(
      'p',
      { class: 'muted' },
      "platform.pub is the platform's public key: ",
      h('a', { href: '/web/keys/platform.pub', download: 'platform.pub' }, 'download it'),
      " (or copy keys/platform.pub from the server's data directory — the safer route, since this page is served by the same server).",
    ),
  );
}
