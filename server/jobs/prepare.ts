/**
 * Turns a received multipart upload into a job's trainer input directory (the trainer's contract:
 * `model/`, `dataset.{csv,zip,tfrecord}`, `dataset_definition.yaml`, `params.json`), validating every field
 * first. Every refusal is a JobError naming the field; the caller then removes the whole upload.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { failingFields, modelMetadataFields, normalizeFramework, trainingParams } from '../../schema/api.ts';
import { datasetDefinitionSchema, type DatasetDefinition } from '../../schema/trainer.ts';
import { unsafeEntryName, unzipToDirectory } from '../../trainer/datasets/safe-unzip.ts';
import { JobError } from './errors.ts';
import type { JobInputFile, ModelMetadata } from '../contracts.ts';
import type { Multipart, UploadedFile } from './uploads.ts';

export interface PreparedModelJob {
  framework: string;
  metadata: ModelMetadata;
  params: Record<string, unknown>;
  files: JobInputFile[];
}

function one(mp: Multipart, field: string): UploadedFile | undefined {
  return mp.files.find((f) => f.field === field);
}

const extOf = (name: string): string => /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';

/** Seed metadata + params from the form fields (strings), validated together so every bad field is named. */
function parseForm(fields: Record<string, string>): { metadata: ModelMetadata; params: Record<string, unknown> } {
  const metaKeys = Object.keys(modelMetadataFields.shape);
  const paramKeys = [
    'epochs',
    'validation_split',
    'initial_epoch',
    'batch_size',
    'steps_per_epoch',
    'validation_steps',
    'validation_freq',
    'seed',
  ];
  const pick = (keys: string[]) =>
    Object.fromEntries(keys.filter((k) => fields[k] !== undefined && fields[k] !== '').map((k) => [k, fields[k]]));
  const meta = modelMetadataFields.safeParse(pick(metaKeys));
  const params = trainingParams.safeParse(pick(paramKeys));
  const errs = [
    ...(meta.success ? [] : failingFields(meta.error)),
    ...(params.success ? [] : failingFields(params.error)),
  ];
  if (!meta.success || !params.success)
    throw new JobError('invalid_request', `invalid fields: ${errs.map((e) => e.field).join(', ')}`, errs);
  return {
    metadata: meta.data,
    params: Object.fromEntries(Object.entries(params.data).filter(([, v]) => v !== undefined)),
  };
}

function parseDefinition(text: string): DatasetDefinition {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new JobError('invalid_request', `dataset_definition is neither YAML nor JSON: ${(e as Error).message}`, [
      { field: 'dataset_definition', message: 'not YAML/JSON' },
    ]);
  }
  const r = datasetDefinitionSchema.safeParse(doc);
  if (!r.success) {
    const fields = failingFields(r.error).map((f) => ({ field: `dataset_definition.${f.field}`, message: f.message }));
    throw new JobError(
      'invalid_request',
      `dataset_definition is invalid: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
  return r.data;
}

async function firstLine(path: string): Promise<string> {
  const rl = createInterface({ input: createReadStream(path, { end: 1024 * 1024 }), crlfDelay: Infinity });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

/** A CSV's header must hold the definition's label and exactly the inputs its input_shape asks for. */
async function checkCsvAgainstDefinition(path: string, def: DatasetDefinition): Promise<void> {
  const header = (await firstLine(path)).split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
  const mismatch = (detail: string): JobError =>
    new JobError('definition_mismatch', `the dataset does not match dataset_definition: ${detail}`, [
      { field: 'dataset_definition', message: detail },
    ]);
  if (header.length < 2) throw mismatch('the CSV has no header row with at least two columns');
  if (!header.includes(def.label))
    throw mismatch(`label column "${def.label}" is not in the CSV header (${header.join(', ')})`);
  const missing = Object.keys(def.columns ?? {}).filter((c) => !header.includes(c));
  if (missing.length) throw mismatch(`columns ${missing.join(', ')} are not in the CSV header`);
  const inputs = def.columns ? Object.keys(def.columns).filter((c) => c !== def.label).length : header.length - 1;
  const want = def.input_shape.reduce((a, b) => a * b, 1);
  if (inputs !== want)
    throw mismatch(`input_shape [${def.input_shape}] needs ${want} input columns, the dataset has ${inputs}`);
}

/**
 * A TF.js model zip (model.json + weight files, at the top or in one folder) is unpacked into model/: inflated as
 * a stream into a scratch folder beside it (size, ratio and entry caps applied while inflating, never in memory),
 * then the files next to model.json are moved in.
 */
async function unpackTfjsZip(zip: string, modelDir: string): Promise<void> {
  const scratch = `${modelDir}.unzip`;
  try {
    let names: string[];
    try {
      names = await unzipToDirectory(zip, scratch, 'model');
    } catch (e) {
      throw new JobError('invalid_request', `model: ${(e as Error).message}`, [
        { field: 'model', message: (e as Error).message },
      ]);
    }
    const json = names.filter((n) => n === 'model.json' || n.endsWith('/model.json'));
    if (json.length !== 1)
      throw new JobError('invalid_request', 'model: the zip must hold exactly one model.json', [
        { field: 'model', message: 'no single model.json in the zip' },
      ]);
    const root = json[0]!.slice(0, -'model.json'.length);
    for (const name of names) {
      const rel = name.slice(root.length);
      // TF.js weight paths are siblings of model.json.
      if (!name.startsWith(root) || rel.includes('/') || unsafeEntryName(name)) continue;
      await rename(join(scratch, name), join(modelDir, rel));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Largest dataset definition accepted (a JSON document describing columns and classes). */
const MAX_DEFINITION_BYTES = 1024 * 1024;

/**
 * Validates the seed's model+data submission and lays out `inputDir`. Uploaded files are moved (not copied)
 * from where receiveParts put them.
 */

export async function prepareModelJob(mp: Multipart, inputDir: string): Promise<PreparedModelJob> {
  const missing = (['model', 'dataset', 'dataset_definition'] as const).filter((f) => !one(mp, f));
  const noFramework = !mp.fields.framework;
  if (missing.length || noFramework) {
    const fields = [
      ...missing.map((f) => ({ field: f, message: 'required file is missing' })),
      ...(noFramework ? [{ field: 'framework', message: 'required field is missing' }] : []),
    ];
    throw new JobError('invalid_request', `missing: ${fields.map((f) => f.field).join(', ')}`, fields);
  }
  const framework = normalizeFramework(mp.fields.framework!);
  if (!framework)
    throw new JobError(
      'unsupported_framework',
      `framework "${mp.fields.framework}" is not supported; use tensorflow (TF.js/Keras models)`,
      [{ field: 'framework', message: 'unsupported' }],
    );
  const { metadata, params } = parseForm(mp.fields);

  const model = one(mp, 'model')!;
  const dataset = one(mp, 'dataset')!;
  const definitionFile = one(mp, 'dataset_definition')!;
  // A definition is a small JSON document; the general upload limit (GiBs) is far too much to parse in memory.
  if (definitionFile.size > MAX_DEFINITION_BYTES) {
    throw new JobError(
      'payload_too_large',
      `dataset_definition: ${definitionFile.size} bytes, at most ${MAX_DEFINITION_BYTES} for a dataset definition`,
      [{ field: 'dataset_definition', message: 'too large' }],
    );
  }
  const def = parseDefinition(await readFile(definitionFile.path, 'utf8'));

  const datasetExt = extOf(dataset.filename);
  if (!['csv', 'zip', 'tfrecord'].includes(datasetExt)) {
    throw new JobError(
      'invalid_request',
      `dataset: expected a .csv, .zip (image folders) or .tfrecord file, got "${dataset.filename}"`,
      [{ field: 'dataset', message: 'unsupported file type' }],
    );
  }
  if (datasetExt === 'csv') await checkCsvAgainstDefinition(dataset.path, def);
  if (datasetExt === 'zip' && !def.image_size && def.input_shape.length < 3) {
    throw new JobError(
      'definition_mismatch',
      'the dataset does not match dataset_definition: an image zip needs an image input_shape [h, w, c]',
      [{ field: 'dataset_definition.input_shape', message: 'not an image shape' }],
    );
  }

  const modelExt = extOf(model.filename);
  if (!['keras', 'json', 'zip'].includes(modelExt)) {
    throw new JobError(
      'invalid_request',
      `model: expected a .keras file, a TF.js model.json, or a .zip of a TF.js model, got "${model.filename}"`,
      [{ field: 'model', message: 'unsupported file type' }],
    );
  }
  const modelDir = join(inputDir, 'model');
  await mkdir(modelDir, { recursive: true });
  const files: JobInputFile[] = [];
  const place = async (f: UploadedFile, role: JobInputFile['role'], dest: string): Promise<void> => {
    await mkdir(dirname(dest), { recursive: true });
    await rename(f.path, dest);
    files.push({ role, name: f.filename, path: dest, digest: f.digest, size: f.size });
  };
  if (modelExt === 'zip') {
    await place(model, 'model', join(inputDir, '..', 'uploads', model.filename));
    await unpackTfjsZip(join(inputDir, '..', 'uploads', model.filename), modelDir);
  } else {
    await place(model, 'model', join(modelDir, modelExt === 'json' ? 'model.json' : model.filename));
  }
  await place(dataset, 'dataset', join(inputDir, `dataset.${datasetExt}`));
  await place(definitionFile, 'dataset_definition', join(inputDir, 'dataset_definition.yaml'));
  // params.json is an input too: the link and the AIBoM bind the exact parameters the trainer read.
  const paramsBytes = Buffer.from(`${JSON.stringify(params, null, 2)}\n`);
  const paramsPath = join(inputDir, 'params.json');
  await writeFile(paramsPath, paramsBytes, { mode: 0o644 });
  files.push({
    role: 'params',
    name: 'params.json',
    path: paramsPath,
    digest: `sha256:${createHash('sha256').update(paramsBytes).digest('hex')}`,
    size: paramsBytes.length,
  });
  return { framework, metadata, params, files };
}

/** The PoC flow's form: a trainer image from our registry, its command, any input files. */
export const imageJobFields = z.object({
  image: z.string().trim().min(1).max(512),
  command: z.string().trim().min(1).max(8192).optional(),
  framework: z.string().trim().min(1).max(64).default('any'),
});

/** `command` is a JSON array of strings, or a plain string split on whitespace. */
export function parseCommand(raw: string | undefined): string[] | undefined {
  if (!raw) return undefined;
  if (raw.startsWith('[')) {
    const r = z.array(z.string().min(1)).min(1).safeParse(JSON.parse(raw));
    if (!r.success)
      throw new JobError('invalid_request', 'command: expected a JSON array of strings', [
        { field: 'command', message: 'not an array of strings' },
      ]);
    return r.data;
  }
  return raw.split(/\s+/).filter(Boolean);
}

/** Lays out an image job's files under `inputDir/<name>` (all role `other`, or `dataset`/`model` by field). */
export async function prepareImageJob(
  mp: Multipart,
  inputDir: string,
): Promise<{ image: string; command?: string[]; framework: string; metadata: ModelMetadata; files: JobInputFile[] }> {
  const r = imageJobFields.safeParse(mp.fields);
  if (!r.success) {
    const fields = failingFields(r.error);
    throw new JobError('invalid_request', `invalid fields: ${fields.map((f) => f.field).join(', ')}`, fields);
  }
  let command: string[] | undefined;
  try {
    command = parseCommand(r.data.command);
  } catch (e) {
    if (e instanceof JobError) throw e;
    throw new JobError('invalid_request', 'command: not valid JSON', [{ field: 'command', message: 'not valid JSON' }]);
  }
  const meta = modelMetadataFields.safeParse(
    Object.fromEntries(
      Object.keys(modelMetadataFields.shape)
        .filter((k) => mp.fields[k])
        .map((k) => [k, mp.fields[k]]),
    ),
  );
  if (!meta.success) throw new JobError('invalid_request', 'invalid metadata fields', failingFields(meta.error));
  await mkdir(inputDir, { recursive: true });
  const files: JobInputFile[] = [];
  const seen = new Set<string>();
  for (const f of mp.files) {
    if (seen.has(f.filename))
      throw new JobError('invalid_request', `two input files are named ${f.filename}`, [
        { field: f.field, message: 'duplicate file name' },
      ]);
    seen.add(f.filename);
    const dest = join(inputDir, f.filename);
    await rename(f.path, dest);
    const role: JobInputFile['role'] = f.field === 'dataset' ? 'dataset' : f.field === 'model' ? 'model' : 'other';
    files.push({ role, name: f.filename, path: dest, digest: f.digest, size: f.size });
  }
  return {
    image: r.data.image,
    ...(command ? { command } : {}),
    framework: r.data.framework,
    metadata: meta.data,
    files,
  };
}
