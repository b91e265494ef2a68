// Entry point: the header (navigation, sign-in state) and the hash router that renders one view at a time.
import { authConfig, signedIn as isSignedIn, signOut, TOKEN_KEY } from './api.js';
import { h, notice, replace } from './dom.js';
import { href, parseRoute } from './router.js';
import { renderAudit } from './views/audit.js';
import { renderWorkers } from './views/workers.js';
import { renderJob } from './views/job.js';
import { renderJobs } from './views/jobs.js';
import { renderLineage } from './views/lineage.js';
import { renderLogin } from './views/login.js';
import { renderImpact } from './views/impact.js';
import { renderModel } from './views/model.js';
import { renderModels } from './views/models.js';

/**
 * @typedef {import('./router.js').ViewContext} ViewContext
 * Each view renders into <main> and stops its streams/timers when `signal` aborts (on the next route).
 */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
/** @type {AbortController | null} */
let current = null;

function renderNav() {
  const route = parseRoute(location.hash);
  const section =
    route.name === 'job' || route.name === 'jobs'
      ? 'jobs'
      : route.name === 'model' || route.name === 'models' || route.name === 'lineage' || route.name === 'impact'
        ? 'models'
        : route.name === 'audit' || route.name === 'workers'
          ? route.name
          : '';
  /**
   * @param {string} link
   * @param {string} label
   * @param {string} key
   */
  const item = (link, label, key) =>
    h('li', {}, h('a', { href: link, 'aria-current': section === key ? 'page' : false }, label));
  const signedIn = isSignedIn();
  replace(
    nav,
    h('a', { class: 'brand', href: href.jobs() }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'), 'AIBoMGen'),
    h('ul', {}, item(href.jobs(), 'Jobs', 'jobs'), item(href.models(), 'Models', 'models')),
    h(
      'div',
      { class: 'auth' },
      signedIn
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary small',
              onclick: () => {
                void signOut();
              },
            },
            'Sign out',
          )
        : h(
            'a',
            { href: href.login(location.hash), 'aria-current': route.name === 'login' ? 'page' : false },
            'Sign in',
          ),
    ),
  );
  // The audit log and the workers are for administrators: their links appear once the server says this browser is one.
  void authConfig().then((info) => {
    if (info.caller?.admin && !nav.querySelector(`a[href="${href.audit()}"]`))
      nav.querySelector('ul')?.append(item(href.audit(), 'Audit', 'audit'), item(href.workers(), 'Workers', 'workers'));
  });
}

async function render() {
  current?.abort();
  const ctl = new AbortController();
  current = ctl;
  renderNav();
  const route = parseRoute(location.hash);
  /** @type {ViewContext} */
  const ctx = {
    signal: ctl.signal,
    setTitle: (t) => {
      document.title = `${t} · AIBoMGen`;
    },
    refresh: () => {
      void render();
    },
  };
  main.setAttribute('aria-busy', 'true');
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    switch (route.name) {
      case 'jobs':
        await renderJobs(main, ctx);
        break;
      case 'job':
        await renderJob(main, route.id, ctx);
        break;
      case 'models':
        await renderModels(main, ctx);
        break;
      case 'model':
        await renderModel(main, route.repo, route.version, ctx);
        break;
      case 'lineage':
        await renderLineage(main, route.repo, route.version, ctx);
        break;
      case 'impact':
        await renderImpact(main, route.digest, ctx);
        break;
      case 'audit':
        await renderAudit(main, ctx);
        break;
      case 'workers':
        await renderWorkers(main, ctx);
        break;
      case 'login':
        renderLogin(main, route.next, ctx);
        break;
      default:
        ctx.setTitle('Not found');
        replace(
          main,
          h('h1', {}, 'Page not found'),
          notice('info', [`Nothing lives at ${route.path}. `, h('a', { href: href.jobs() }, 'Go to the jobs list.')]),
        );
    }
  } catch (e) {
    if (ctl.signal.aborted) return;
    ctx.setTitle('Error');
    replace(main, h('h1', {}, 'Something went wrong'), notice('error', e instanceof Error ? e.message : String(e)));
  } finally {
    if (current === ctl) main.removeAttribute('aria-busy');
  }
  // Move focus to the new content for screen readers and keyboard users, as a page load would.
  if (!ctl.signal.aborted && document.activeElement === document.body) main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/') || location.hash === '') void render();
});
window.addEventListener('auth-changed', () => {
  void render();
});
// /auth/config told who this browser is (an OIDC session is an HttpOnly cookie: only the server knows it).
window.addEventListener('session-changed', () => renderNav());
// Signing in or out in another tab applies here too.
window.addEventListener('storage', (e) => {
  if (e.key === TOKEN_KEY || e.key === null) void render();
});
window.addEventListener('auth-required', () => {
  if (parseRoute(location.hash).name !== 'login') location.hash = href.login(location.hash);
});
document.getElementById('skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
void render();
void authConfig();
