// The job list's two submit forms (#/jobs): a model + dataset upload, and a trainer image run; both upload with
// progress and open the new job's page.
import { ApiError, getToken } from '../api.js';
import { h, notice } from '../dom.js';
import { href } from '../router.js';

/**
 * A labelled input maker; ids are `<prefix>-<name>`, so two forms on the page never share a label target.
 * @param {string} prefix
 */
function fieldMaker(prefix) {
  /**
   * @param {string} name
   * @param {string} label
   * @param {Record<string, string | number | boolean>} [attrs]
   * @param {string} [help]
   */
  return (name, label, attrs = {}, help) => {
    const id = `${prefix}-${name}`;
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      h('input', { id, name, ...(help ? { 'aria-describedby': `${id}-help` } : {}), ...attrs }),
      help ? h('small', { id: `${id}-help` }, help) : null,
    );
  };
}

/**
 * The optional GPU request of both forms (the server's `gpu` field: all, a count or device ids; empty: none).
 * @param {ReturnType<typeof fieldMaker>} field
 */
function gpuField(field) {
  return field(
    'gpu',
    'GPUs',
    { type: 'text', placeholder: 'none', autocomplete: 'off' },
    'Empty for none; "all", a count (2) or device ids (0,1). Refused when no worker has a GPU.',
  );
}

/** The submit form (POST /developer/submit_job_by_model_and_data), collapsed until opened. */
export function submitForm() {
  const errorBox = h('div', { 'aria-live': 'assertive' });
  const progress = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const field = fieldMaker('f');
  const submit = h('button', { type: 'submit' }, 'Submit job');
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'submit-form', novalidate: false },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Inputs'),
        field(
          'model',
          'Model',
          { type: 'file', required: true, accept: '.keras,.zip,.h5,.json' },
          'A .keras file, or a zip of a TF.js model.json + weights',
        ),
        field('dataset', 'Dataset', { type: 'file', required: true }, 'CSV, a zip of PNG class folders, or TFRecord'),
        field(
          'dataset_definition',
          'Dataset definition',
          { type: 'file', required: true, accept: '.json,.yaml,.yml' },
          'JSON: columns, input_shape, output_shape, label',
        ),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'f-framework' }, 'Framework'),
          h(
            'select',
            { id: 'f-framework', name: 'framework' },
            ...['tensorflow', 'tfjs', 'keras'].map((f) => h('option', { value: f }, f)),
          ),
          h('small', { id: 'f-framework-help' }, 'keras runs the Keras trainer (Keras 3); the others TensorFlow.js'),
        ),
        gpuField(field),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Model card'),
        field('model_name', 'Name', { type: 'text', placeholder: 'iris' }, 'Names the published model repository'),
        field('model_version', 'Version', { type: 'text', placeholder: '1.0.0' }),
        field('author', 'Author', { type: 'text' }),
        field('license_name', 'License', { type: 'text', placeholder: 'Apache-2.0' }),
        field('base_model', 'Base model', { type: 'text', placeholder: 'models/base@sha256:…' }),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Training'),
        field('epochs', 'Epochs', { type: 'number', min: 1, max: 10000, value: 5 }),
        field('batch_size', 'Batch size', { type: 'number', min: 1, value: 32 }),
        field('validation_split', 'Validation split', { type: 'number', min: 0, max: 0.99, step: 0.01, value: 0.2 }),
      ),
      h('div', { class: 'actions' }, submit, progress),
      errorBox,
    )
  );

  sendOnSubmit(form, '/developer/submit_job_by_model_and_data', submit, progress, errorBox);
  return h('details', { class: 'card' }, h('summary', {}, 'Submit a training job'), form);
}

/**
 * The seed's other flow (POST /developer/submit_job_by_image): a trainer image from this registry, its command
 * and input files. Field ids are prefixed so its labels never collide with the form above.
 */
export function imageForm() {
  const errorBox = h('div', { 'aria-live': 'assertive' });
  const progress = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': 'Image job upload progress' });
  const field = fieldMaker('i');
  const submit = h('button', { type: 'submit' }, 'Run image');
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'submit-form' },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Trainer image'),
        field(
          'image',
          'Image reference',
          { type: 'text', required: true, placeholder: `${location.host}/trainers/mine:1` },
          'Pushed to this registry first; needs the docker runner',
        ),
        field(
          'command',
          'Command',
          { type: 'text', placeholder: '["python", "train.py"]' },
          'A JSON array of strings, or words split on spaces',
        ),
        field(
          'inputs',
          'Input files',
          { type: 'file', multiple: true },
          'Mounted read-only at /input/<name>; whatever the job writes to /output is published',
        ),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Published as'),
        field('model_name', 'Model name', { type: 'text', placeholder: 'mine' }),
        field('model_version', 'Model version', { type: 'text', placeholder: '1.0.0' }),
      ),
      h('fieldset', {}, h('legend', {}, 'Resources'), gpuField(field)),
      h('div', { class: 'actions' }, submit, progress),
      errorBox,
    )
  );
  sendOnSubmit(form, '/developer/submit_job_by_image', submit, progress, errorBox);
  return h('details', { class: 'card' }, h('summary', {}, 'Run a trainer image'), form);
}

/**
 * Sends `form` to `url` on submit with upload progress, then opens the job's page; refusals mark the fields named.
 * @param {HTMLFormElement} form
 * @param {string} url
 * @param {Element} submit
 * @param {Element} progress
 * @param {Element} errorBox
 */
function sendOnSubmit(form, url, submit, progress, errorBox) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errorBox.replaceChildren();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const data = new FormData(form);
    // Empty optional fields are left out rather than sent as "" (the API would reject empty strings).
    for (const [k, v] of [...data.entries()])
      if (v === '' || (v instanceof File && v.name === '' && v.size === 0)) data.delete(k);
    submit.setAttribute('disabled', '');
    /** @type {HTMLProgressElement} */ (progress).hidden = false;
    try {
      const job = await upload(url, data, (p) => {
        /** @type {HTMLProgressElement} */ (progress).value = p;
      });
      location.hash = href.job(job.job_id ?? job.id);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(String(e), 0, 'network');
      for (const f of err.fields)
        form.querySelector(`[name="${CSS.escape(f.field)}"]`)?.setAttribute('aria-invalid', 'true');
      errorBox.replaceChildren(notice('error', `Submit failed: ${err.message}`));
    } finally {
      submit.removeAttribute('disabled');
      /** @type {HTMLProgressElement} */ (progress).hidden = true;
    }
  });
}

/**
 * POSTs a multipart body with upload progress (fetch cannot report upload progress; XHR can).
 * @param {string} url
 * @param {FormData} body
 * @param {(percent: number) => void} onProgress
 * @returns {Promise<any>}
 */
function upload(url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('accept', 'application/json');
    const token = getToken();
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onerror = () => reject(new ApiError('network error while uploading', 0, 'network'));
    xhr.onload = () => {
      /** @type {any} */
      let json = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300 && json) return resolve(json);
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent('auth-required'));
      const detail = json?.detail ?? (xhr.responseText.slice(0, 200) || xhr.statusText);
      const fields = json?.fields ?? [];
      const fieldText = fields.length
        ? ` (${fields.map((/** @type {any} */ f) => `${f.field}: ${f.message}`).join('; ')})`
        : '';
      reject(
        new ApiError(`${xhr.status} ${detail}${fieldText}`, xhr.status, json?.error ?? `http_${xhr.status}`, fields),
      );
    };
    xhr.send(body);
  });
}
