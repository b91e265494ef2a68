// #/jobs/<id>: one job — state, timings, runner and isolation, params, live epoch metrics and logs,
// artifacts, and a link to the model it published.
import { ApiError, followJobEvents, isTerminal, rest } from '../api.js';
import { commandLine, dl, h, notice, replace } from '../dom.js';
import { digestEl, duration, normState, stateBadge, timeEl } from '../format.js';
import { epochTable, lossChart, progressBar } from '../metrics.js';
import { href } from '../router.js';
import { authDownload, drawArtifacts, inputsSection, paramsSection } from './job-sections.js';

const MAX_LOG_LINES = 400;

/**
 * @param {HTMLElement} main
 * @param {string} id
 * @param {import('../router.js').ViewContext} ctx
 */
export async function renderJob(main, id, ctx) {
  ctx.setTitle(`Job ${id}`);
  /** @type {any} */
  let job;
  try {
    job = await rest(`/developer/job_status/${encodeURIComponent(id)}`, { signal: ctx.signal });
  } catch (e) {
    if (e instanceof ApiError && e.notFound) {
      replace(
        main,
        h('h1', {}, `Job ${id}`),
        notice('error', [`No job with id ${id}. `, h('a', { href: href.jobs() }, 'Back to the jobs list.')]),
      );
      return;
    }
    throw e;
  }

  /** @type {{epoch: number, logs: Record<string, number>}[]} */
  const history = [];
  /** @type {string[]} */
  const logLines = [];
  const head = h('div', { class: 'page-head' });
  const summary = h('section', { 'aria-labelledby': 'sum-h' });
  const progress = h('section', { 'aria-labelledby': 'prog-h' });
  const modelBox = h('section', { 'aria-labelledby': 'model-h' });
  const artifacts = h('section', { 'aria-labelledby': 'art-h' });
  const logPre = h('pre', { class: 'log', tabindex: 0, 'aria-label': 'Trainer log' });
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: href.jobs() }, 'Jobs'), ' / ', id),
    head,
    live,
    h('div', { class: 'grid' }, summary, modelBox),
    progress,
    h('div', { class: 'grid' }, paramsSection(job), inputsSection(job)),
    artifacts,
    h(
      'section',
      { 'aria-labelledby': 'log-h' },
      h('h2', { id: 'log-h' }, 'Log'),
      logPre,
      h(
        'p',
        {},
        h(
          'a',
          { href: `/developer/jobs/${encodeURIComponent(id)}/logs`, onclick: authDownload(`job-${id}-logs.txt`) },
          'Full log (text)',
        ),
      ),
    ),
  );

  // Each section is redrawn only when its inputs changed, so an epoch event does not take focus off the
  // cancel button or reset the scroll of the epoch table.
  const draw = () => {
    once(head, [job.state], () => drawHead(head, job, ctx));
    once(summary, [job.state, job.reason, job.startedAt, job.finishedAt, job.runner], () => drawSummary(summary, job));
    once(progress, [job.state, history, job.metrics?.history?.length], () =>
      keepScroll(progress, () => drawProgress(progress, job, history)),
    );
    once(modelBox, [job.state, job.publication?.digest], () => drawModel(modelBox, job));
  };
  draw();
  void drawArtifacts(artifacts, job, ctx.signal);

  followJobEvents(
    id,
    (e) => {
      if (e.type === 'state') {
        const was = normState(job.state);
        job = { ...job, state: e.state, reason: e.reason ?? job.reason };
        if (normState(e.state) === 'running' && !job.startedAt) job.startedAt = e.at;
        if (was !== normState(e.state)) live.textContent = `Job is ${normState(e.state)}`;
        if (isTerminal(e.state)) {
          // The final answer carries what events do not: publication, finishedAt, metrics.
          void rest(`/developer/job_status/${encodeURIComponent(id)}`, { signal: ctx.signal })
            .then((fresh) => {
              job = fresh;
              draw();
              void drawArtifacts(artifacts, job, ctx.signal);
            })
            .catch(() => {});
        }
      } else if (e.type === 'epoch') {
        const i = history.findIndex((r) => r.epoch === e.epoch);
        if (i >= 0) history[i] = { epoch: e.epoch, logs: e.logs };
        else history.push({ epoch: e.epoch, logs: e.logs });
      } else if (e.type === 'log') {
        logLines.push(e.line);
        if (logLines.length > MAX_LOG_LINES) logLines.splice(0, logLines.length - MAX_LOG_LINES);
        const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
        logPre.textContent = logLines.join('\n');
        if (atBottom) logPre.scrollTop = logPre.scrollHeight;
        return;
      } else return;
      draw();
    },
    ctx.signal,
  ).catch((e) => {
    if (!ctx.signal.aborted) live.textContent = `Live updates stopped: ${e instanceof Error ? e.message : String(e)}`;
  });
}

/** @type {WeakMap<Element, string>} */
const lastDrawn = new WeakMap();

/**
 * Runs `draw` unless `inputs` equal those of the previous draw of `el`.
 * @param {Element} el
 * @param {unknown[]} inputs
 * @param {() => void} draw
 */
function once(el, inputs, draw) {
  const key = JSON.stringify(inputs);
  if (lastDrawn.get(el) === key) return;
  lastDrawn.set(el, key);
  draw();
}

/**
 * Redraws `el` keeping the epoch table's scroll position (following the bottom if it was there) and focus.
 * @param {Element} el
 * @param {() => void} draw
 */
function keepScroll(el, draw) {
  const old = el.querySelector('.table-wrap.epochs');
  const atBottom = old ? old.scrollTop + old.clientHeight >= old.scrollHeight - 4 : true;
  const top = old?.scrollTop ?? 0;
  const focused = old !== null && old === document.activeElement;
  draw();
  const now = el.querySelector('.table-wrap.epochs');
  if (!now) return;
  now.scrollTop = atBottom ? now.scrollHeight : top;
  if (focused) /** @type {HTMLElement} */ (now).focus({ preventScroll: true });
}

/**
 * @param {HTMLElement} el
 * @param {any} job
 * @param {import('../router.js').ViewContext} ctx
 */
function drawHead(el, job, ctx) {
  const cancel =
    !isTerminal(job.state) && normState(job.state) !== 'publishing'
      ? h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: async (/** @type {Event} */ ev) => {
              const btn = /** @type {HTMLButtonElement} */ (ev.currentTarget);
              btn.disabled = true;
              try {
                await rest(`/developer/jobs/${encodeURIComponent(job.id)}/cancel`, {
                  method: 'POST',
                  signal: ctx.signal,
                });
              } catch (e) {
                btn.disabled = false;
                el.append(notice('error', `Cancel failed: ${e instanceof Error ? e.message : String(e)}`));
              }
            },
          },
          'Cancel job',
        )
      : null;
  replace(el, h('h1', {}, 'Job ', h('span', { class: 'mono' }, job.id), ' ', stateBadge(job.state)), cancel);
}

/**
 * @param {HTMLElement} el
 * @param {any} job
 */
function drawSummary(el, job) {
  const r = job.runner;
  const isolation = r
    ? r.isolated
      ? h('span', { class: 'badge ok' }, 'isolated container')
      : h('span', { class: 'badge warn' }, 'not isolated (process runner)')
    : '';
  replace(
    el,
    h('h2', { id: 'sum-h' }, 'Summary'),
    job.reason ? notice(normState(job.state) === 'failed' ? 'error' : 'info', job.reason) : null,
    dl([
      ['Owner', job.owner],
      ['Framework', job.framework],
      // The trainer that ran: a TF.js job may run on the Keras trainer, chosen by the runner (trainerChoice auto).
      ['Trainer', job.trainer ? `${job.trainer}${job.trainerChoice === 'auto' ? ' (chosen automatically)' : ''}` : ''],
      ['GPUs', job.gpu === undefined || job.gpu === false ? '' : JSON.stringify(job.gpu)],
      [
        'Model',
        job.metadata?.model_name ? `${job.metadata.model_name} ${job.metadata.model_version ?? ''}`.trim() : '',
      ],
      ['Created', timeEl(job.createdAt)],
      ['Started', timeEl(job.startedAt)],
      ['Finished', timeEl(job.finishedAt)],
      ['Waited in queue', duration(job.createdAt, job.startedAt)],
      ['Ran for', duration(job.startedAt, job.finishedAt)],
      ['Runner', r ? `${r.kind}${r.runtime ? ` — ${r.runtime}` : ''}` : ''],
      ['Isolation', isolation],
      ['Trainer image', r?.image ? h('code', {}, r.image) : ''],
      ['Image digest', digestEl(r?.imageDigest)],
      ['Command', r?.command?.length ? h('code', {}, r.command.join(' ')) : ''],
    ]),
  );
}

/**
 * @param {HTMLElement} el
 * @param {any} job
 * @param {{epoch: number, logs: Record<string, number>}[]} history
 */
function drawProgress(el, job, history) {
  const epochs = Number(job.params?.epochs) || 0;
  // A finished job's metrics.json holds the full history even if the stream was joined late.
  const rows = history.length ? history : (job.metrics?.history ?? []);
  const last = rows.length ? Math.max(...rows.map((/** @type {any} */ r) => r.epoch)) : 0;
  const chart = lossChart(rows);
  replace(
    el,
    h('h2', { id: 'prog-h' }, 'Training progress'),
    epochs ? progressBar(normState(job.state) === 'succeeded' ? epochs : last, epochs, 'Training') : null,
    rows.length
      ? h('div', { class: 'grid' }, chart, epochTable(rows, 'Metrics per epoch'))
      : h(
          'p',
          { class: 'muted' },
          normState(job.state) === 'queued' ? 'Waiting for a runner…' : 'No epoch finished yet.',
        ),
  );
}

/**
 * @param {HTMLElement} el
 * @param {any} job
 */
function drawModel(el, job) {
  const p = job.publication;
  if (!p) {
    replace(
      el,
      h('h2', { id: 'model-h' }, 'Model'),
      h(
        'p',
        { class: 'muted' },
        isTerminal(job.state)
          ? 'This job published no model.'
          : 'Published when training, attestation and signing finish.',
      ),
    );
    return;
  }
  replace(
    el,
    h('h2', { id: 'model-h' }, 'Model'),
    dl([
      ['Reference', h('code', {}, p.ref)],
      ['Digest', digestEl(p.digest)],
      ['Attestations', p.attestations?.map((/** @type {any} */ a) => a.kind).join(', ')],
    ]),
    h(
      'p',
      { class: 'links' },
      h(
        'a',
        { href: href.model(p.repository, p.digest), class: 'button', 'data-testid': 'job-model-link' },
        'Open model page',
      ),
      ' ',
      h('a', { href: href.lineage(p.repository, p.digest), class: 'button secondary' }, 'Lineage'),
    ),
    commandLine('Pull', `oras pull --plain-http ${p.ref}`),
  );
}
