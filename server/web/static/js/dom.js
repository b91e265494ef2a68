// Tiny DOM helpers. Text always goes in as text nodes (never innerHTML), so API data cannot inject markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | EventListener | null | undefined>} Attrs
 */

/**
 * Creates an HTML element. Attributes whose value is a function starting with "on" become listeners;
 * `false`/null/undefined attributes are left out; `true` sets an empty boolean attribute.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/**
 * Creates an SVG element (same rules as `h`).
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {SVGElement}
 */
export function s(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/**
 * @template {Element} E
 * @param {E} el
 * @param {Attrs} attrs
 * @param {(Child | Child[])[]} children
 * @returns {E}
 */
function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (typeof v === 'function' && k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {(Child | Child[])[]} children
 */
export function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * Replaces all children of `el`.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A definition list from [term, value] pairs; pairs with an empty value are skipped.
 * @param {[string, Child | Child[]][]} pairs
 * @param {string} [cls]
 */
export function dl(pairs, cls = 'facts') {
  const out = h('dl', { class: cls });
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === '' || value === false) continue;
    out.append(h('dt', {}, term), h('dd', {}, value));
  }
  return out;
}

/**
 * A copyable command line: the text in a <code> and a button that copies it.
 * @param {string} label
 * @param {string} command
 */
export function commandLine(label, command) {
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      status.textContent = 'Copied';
    } catch {
      // Clipboard API needs a secure context (https or localhost); select the text so Ctrl+C works.
      const sel = window.getSelection();
      const range = document.createRange();
      range.selectNodeContents(code);
      sel?.removeAllRanges();
      sel?.addRange(range);
      status.textContent = 'Selected — press Ctrl+C';
    }
    setTimeout(() => {
      status.textContent = '';
    }, 2500);
  };
  const code = h('code', {}, command);
  return h(
    'div',
    { class: 'command' },
    h('span', { class: 'command-label' }, label),
    h('pre', {}, code),
    h('button', { type: 'button', class: 'secondary small', onclick: copy, 'aria-label': `Copy: ${label}` }, 'Copy'),
    status,
  );
}

/**
 * A message box for errors and empty states.
 * @param {'error' | 'info'} kind
 * @param {Child | Child[]} text
 */
export function notice(kind, text) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
