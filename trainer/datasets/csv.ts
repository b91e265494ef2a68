/**
 * Tabular CSV with a header row. Streamed line by line (the file is never held whole as text); the feature
 * columns are the definition's `columns` minus the label, in the CSV header's order. Numeric cells only:
 * anything else is an error naming the row and column.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { DatasetDefinition } from '../../schema/trainer.ts';
import { TrainerError } from '../errors.ts';
import { writeTarget } from './labels.ts';
import type { LoadedDataset } from './types.ts';

/** Splits one CSV line (RFC 4180 quoting). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur);
  return out;
}

function parseCell(raw: string, type: string, row: number, col: string): number {
  const s = raw.trim();
  if (type === 'bool') {
    if (/^(true|1)$/i.test(s)) return 1;
    if (/^(false|0)$/i.test(s)) return 0;
  } else if (s !== '') {
    const v = Number(s);
    if (Number.isFinite(v) && (type !== 'int' || Number.isInteger(v))) return v;
  }
  throw new TrainerError(
    'non_numeric',
    `dataset.csv row ${row}, column '${col}': '${raw}' is not a valid ${type}`,
    `columns.${col}`,
  );
}

export async function loadCsv(file: string, def: DatasetDefinition): Promise<LoadedDataset> {
  const columns = def.columns;
  if (!columns)
    throw new TrainerError('bad_definition', 'dataset_definition.yaml: columns: required for a CSV dataset', 'columns');
  if (!(def.label in columns)) {
    throw new TrainerError(
      'bad_definition',
      `dataset_definition.yaml: label: '${def.label}' is not one of columns`,
      'label',
    );
  }
  const features = Object.keys(columns).filter((c) => c !== def.label);
  const imageCol = Object.keys(columns).find((c) => columns[c] === 'image');
  if (imageCol)
    throw new TrainerError(
      'bad_definition',
      `dataset_definition.yaml: columns.${imageCol}: image columns need a TFRecord dataset`,
      `columns.${imageCol}`,
    );
  const width = def.input_shape.reduce((a, b) => a * b, 1);
  if (features.length !== width) {
    throw new TrainerError(
      'shape_mismatch',
      `input_shape [${def.input_shape}] holds ${width} values but the definition has ${features.length} feature columns`,
      'input_shape',
    );
  }
  const outputSize = def.output_shape[0]!;
  const xs: number[] = [];
  const ys: number[] = [];
  let index: number[] = [];
  let labelIdx = -1;
  let row = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (row === 0) {
      const header = splitCsvLine(line.replace(/^\uFEFF/, '')).map((h) => h.trim());
      for (const c of [...features, def.label]) {
        if (!header.includes(c))
          throw new TrainerError(
            'missing_column',
            `dataset.csv has no column '${c}' (named in the definition)`,
            `columns.${c}`,
          );
      }
      // Features go in the CSV's own column order (as pandas would read it), not the YAML's key order:
      // PyYAML writes definitions with sorted keys (feature1, feature10, ...).
      features.sort((a, b) => header.indexOf(a) - header.indexOf(b));
      index = features.map((c) => header.indexOf(c));
      labelIdx = header.indexOf(def.label);
      row++;
      continue;
    }
    row++;
    if (line.trim() === '') continue;
    const cells = splitCsvLine(line);
    for (let f = 0; f < features.length; f++) {
      const col = features[f]!;
      xs.push(parseCell(cells[index[f]!] ?? '', columns[col]!, row, col));
    }
    ys.push(parseCell(cells[labelIdx] ?? '', columns[def.label]!, row, def.label));
  }
  if (row === 0) throw new TrainerError('empty_dataset', 'dataset.csv is empty (no header row)', 'dataset');
  const n = ys.length;
  if (n === 0) throw new TrainerError('empty_dataset', 'dataset.csv has a header but no data rows', 'dataset');
  const targets = new Float32Array(n * outputSize);
  for (let i = 0; i < n; i++) writeTarget(targets, i, outputSize, ys[i]!, `dataset.csv row ${i + 2}`);
  return { kind: 'csv', n, inputShape: def.input_shape, outputSize, xs: Float32Array.from(xs), ys: targets };
}
