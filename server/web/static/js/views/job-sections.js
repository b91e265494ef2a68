// The job page's static sections (#/jobs/<id>): parameters and model-card fields, input files, and the
// artifact list with authenticated downloads.
import { authFetch, getToken, isTerminal, rest } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { bytes, digestEl, plain } from '../format.js';
import { href } from '../router.js';

/** @param {any} job */
export function paramsSection(job) {
  const params = Object.entries(job.params ?? {});
  const meta = Object.entries(job.metadata ?? {});
  return h(
    'section',
    { 'aria-labelledby': 'par-h' },
    h('h2', { id: 'par-h' }, 'Parameters'),
    params.length ? kvTable(params, 'Training parameters') : h('p', { class: 'muted' }, 'Defaults only.'),
    meta.length ? kvTable(meta, 'Model card fields') : null,
  );
}

/**
 * @param {[string, unknown][]} entries
 * @param {string} caption
 */
function kvTable(entries, caption) {
  return h(
    'table',
    { class: 'compact' },
    h('caption', {}, caption),
    h('tbody', {}, ...entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, plain(v))))),
  );
}

/** @param {any} job */
export function inputsSection(job) {
  /** @type {any[]} */
  const inputs = job.inputs ?? [];
  return h(
    'section',
    { 'aria-labelledby': 'in-h' },
    h('h2', { id: 'in-h' }, 'Inputs'),
    inputs.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Role', 'File', 'Size', 'Digest'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              ...inputs.map((f) =>
                h(
                  'tr',
                  {},
                  h('td', {}, f.role),
                  h('td', {}, f.name),
                  h('td', {}, bytes(f.size)),
                  h(
                    'td',
                    {},
                    f.digest
                      ? h(
                          'a',
                          { href: href.impact(f.digest), title: 'Models built from this input' },
                          digestEl(f.digest),
                        )
                      : '',
                  ),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No input files.'),
  );
}

/**
 * @param {HTMLElement} el
 * @param {any} job
 * @param {AbortSignal} signal
 */
export async function drawArtifacts(el, job, signal) {
  const heading = h('h2', { id: 'art-h' }, 'Artifacts');
  if (!isTerminal(job.state)) {
    replace(el, heading, h('p', { class: 'muted' }, 'Listed when the job has finished.'));
    return;
  }
  try {
    const list = await rest(`/developer/job_artifacts/${encodeURIComponent(job.id)}`, { signal });
    /** @type {{name: string, size: number, digest: string}[]} */
    const items = list.artifacts ?? [];
    replace(
      el,
      heading,
      items.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, ...['File', 'Size', 'Digest'].map((t) => h('th', { scope: 'col' }, t)))),
              h(
                'tbody',
                {},
                ...items.map((a) => {
                  const url = `/developer/job_artifacts/${encodeURIComponent(job.id)}/${a.name.split('/').map(encodeURIComponent).join('/')}`;
                  return h(
                    'tr',
                    {},
                    h(
                      'td',
                      {},
                      h(
                        'a',
                        { href: url, download: a.name.split('/').pop() ?? a.name, onclick: authDownload(a.name) },
                        a.name,
                      ),
                    ),
                    h('td', {}, bytes(a.size)),
                    h('td', {}, digestEl(a.digest)),
                  );
                }),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No artifacts.'),
    );
  } catch (e) {
    if (signal.aborted) return;
    replace(el, heading, notice('error', `Could not list artifacts: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/**
 * A plain link downloads when no token is set; with a token the file is fetched with the header and saved.
 * @param {string} name
 * @returns {(ev: Event) => void}
 */
export function authDownload(name) {
  return (ev) => {
    if (!getToken()) return;
    ev.preventDefault();
    const a = /** @type {HTMLAnchorElement} */ (ev.currentTarget);
    void authFetch(a.href)
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
        const url = URL.createObjectURL(await res.blob());
        const tmp = h('a', { href: url, download: name.split('/').pop() ?? name });
        tmp.click();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      })
      .catch((e) => {
        a.after(notice('error', `Download failed: ${e instanceof Error ? e.message : String(e)}`));
      });
  };
}
