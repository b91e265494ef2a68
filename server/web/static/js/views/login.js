// #/login: "Sign in with <issuer>" when the server has OIDC sign-in (code + PKCE; the session is an HttpOnly
// cookie the server sets), and an API token, kept in localStorage and sent as `Authorization: Bearer`.
import { authConfig, getToken, setToken } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { href } from '../router.js';

/**
 * @param {HTMLElement} main
 * @param {string | undefined} next the route to return to
 * @param {import('../router.js').ViewContext} ctx
 */
export function renderLogin(main, next, ctx) {
  ctx.setTitle('Sign in');
  const back = next?.startsWith('#/') && !next.startsWith('#/login') ? next : href.jobs();
  const message = h('div', { 'aria-live': 'assertive' });
  const token = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      'aria-describedby': 'token-help',
      spellcheck: 'false',
    })
  );
  const form = h(
    'form',
    { class: 'card login' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'token' }, 'API token'),
      token,
      h(
        'small',
        { id: 'token-help' },
        'Kept in this browser only (localStorage) and sent with every request to this server.',
      ),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')),
    message,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = token.value.trim();
    if (!value) {
      replace(message, notice('error', 'Enter a token.'));
      token.setAttribute('aria-invalid', 'true');
      return;
    }
    // Try the token before keeping it, so a typo is reported here rather than on the next page: with auth on,
    // every /developer route answers 401 to an unknown token.
    const res = await fetch('/developer/jobs?limit=1', { headers: { authorization: `Bearer ${value}` } }).catch(
      () => null,
    );
    if (res && (res.status === 401 || res.status === 403)) {
      token.setAttribute('aria-invalid', 'true');
      replace(message, notice('error', `The server refused this token (${res.status}).`));
      return;
    }
    setToken(value);
    location.hash = back;
  });
  const oidc = h('div', {});
  replace(
    main,
    h('h1', {}, 'Sign in'),
    oidc,
    getToken()
      ? notice('info', 'A token is already stored; a new one replaces it.')
      : h('p', { class: 'muted' }, 'This server asks for an API token.'),
    form,
  );
  token.focus();
  void authConfig().then((info) => {
    if (ctx.signal.aborted || !info.oidc || !info.issuer) return;
    // A plain link: the server redirects to the issuer, which redirects back to /auth/callback.
    const login = `${info.login ?? '/auth/login'}?next=${encodeURIComponent(back)}`;
    replace(
      oidc,
      info.caller ? notice('info', `Signed in as ${info.caller.owner}.`) : null,
      h(
        'div',
        { class: 'card login' },
        h('a', { class: 'button', href: login, id: 'oidc-login' }, `Sign in with ${new URL(info.issuer).host}`),
        h('small', { class: 'muted' }, 'Or use an API token below.'),
      ),
    );
    if (document.activeElement === token) document.getElementById('oidc-login')?.focus();
  });
}
