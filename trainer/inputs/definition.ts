/** Reads and validates `dataset_definition.yaml` and `params.json` from the input directory. */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  datasetDefinitionSchema,
  describeZodError,
  paramsSchema,
  type DatasetDefinition,
  type TrainParams,
} from '../../schema/trainer.ts';
import { TrainerError } from '../errors.ts';
import type { TrainerErrorCode } from '../../schema/trainer.ts';

function validate<T>(schema: z.ZodType<T>, value: unknown, code: TrainerErrorCode, file: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { message, field } = describeZodError(r.error);
  throw new TrainerError(code, `${file}: ${message}`, field);
}

export async function readDefinition(inputDir: string): Promise<DatasetDefinition> {
  const path = join(inputDir, 'dataset_definition.yaml');
  if (!existsSync(path)) throw new TrainerError('missing_input', 'dataset_definition.yaml is missing from the input');
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (e) {
    throw new TrainerError('bad_definition', `dataset_definition.yaml: not valid YAML: ${(e as Error).message}`);
  }
  return validate(datasetDefinitionSchema, doc, 'bad_definition', 'dataset_definition.yaml');
}

export async function readParams(inputDir: string): Promise<TrainParams> {
  const path = join(inputDir, 'params.json');
  let doc: unknown = {};
  if (existsSync(path)) {
    try {
      doc = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new TrainerError('bad_params', `params.json: not valid JSON: ${(e as Error).message}`);
    }
  }
  return validate(paramsSchema, doc, 'bad_params', 'params.json');
}
