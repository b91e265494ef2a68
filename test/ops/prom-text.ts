/**
 * A strict parser for the Prometheus text exposition format 0.0.4: every line must be a HELP, a TYPE, a
 * comment or a sample; names and labels must be well-formed; each sample must belong to a family declared by
 * TYPE before it (histogram samples as _bucket/_sum/_count with `le`); histogram buckets must be cumulative
 * and end in +Inf equal to _count. Anything else throws naming the line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(v: string, line: number): number {
  // As Prometheus reads values (Go's strconv.ParseFloat): Inf/NaN in any case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(v)) return Infinity;
  if (/^-inf(inity)?$/i.test(v)) return -Infinity;
  if (/^nan$/i.test(v)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v))
    throw new Error(`line ${line}: bad value ${JSON.stringify(v)}`);
  return Number(v);
}

function parseLabels(src: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    while (src[i] === ' ') i++;
    if (src[i] === '}') return { labels, rest: src.slice(i + 1) };
    const eq = src.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without '='`);
    const key = src.slice(i, eq).trim();
    if (!LABEL.test(key)) throw new Error(`line ${line}: bad label name ${JSON.stringify(key)}`);
    if (key in labels) throw new Error(`line ${line}: duplicate label ${key}`);
    if (src[eq + 1] !== '"') throw new Error(`line ${line}: label value of ${key} is not quoted`);
    let j = eq + 2;
    let val = '';
    for (; j < src.length && src[j] !== '"'; j++) {
      if (src[j] === '\\') {
        const n = src[++j];
        if (n === 'n') val += '\n';
        else if (n === '\\' || n === '"') val += n;
        else throw new Error(`line ${line}: bad escape \\${n} in label ${key}`);
      } else val += src[j];
    }
    if (src[j] !== '"') throw new Error(`line ${line}: unterminated label value of ${key}`);
    labels[key] = val;
    i = j + 1;
    if (src[i] === ',') i++;
    else if (src[i] !== '}') throw new Error(`line ${line}: expected ',' or '}' after label ${key}`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    const exact = families.get(sample);
    if (exact && exact.type !== 'histogram' && exact.type !== 'summary') return exact;
    const m = /^(.*)_(bucket|sum|count)$/.exec(sample);
    const f = m ? families.get(m[1]!) : undefined;
    if (f && (f.type === 'histogram' || (f.type === 'summary' && m![2] !== 'bucket'))) return f;
    return exact && exact.type === 'summary' ? exact : undefined;
  };
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  text.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!)) throw new Error(`line ${line}: bad metric name ${name}`);
      const f = families.get(name!) ?? { name: name!, type: 'untyped' as const, samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`line ${line}: bad type ${rest}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
        f.type = rest as Family['type'];
      } else {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = rest;
      }
      families.set(name!, f);
      return;
    }
    const nm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(raw);
    if (!nm) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = nm[1]!;
    let rest = nm[2]!;
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), line));
    const parts = rest.trim().split(/ +/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2)
      throw new Error(`line ${line}: expected ' value [timestamp]' after ${name}`);
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad timestamp`);
    const f = familyOf(name);
    if (!f) throw new Error(`line ${line}: sample ${name} has no TYPE declared before it`);
    if (f.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels))
      throw new Error(`line ${line}: histogram bucket without le`);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is ${value}`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  const key = (l: Record<string, string>): string =>
    JSON.stringify(
      Object.entries(l)
        .filter(([k]) => k !== 'le')
        .sort(),
    );
  for (const s of f.samples)
    if (s.name.endsWith('_bucket')) series.set(key(s.labels), [...(series.get(key(s.labels)) ?? []), s]);
  for (const [k, buckets] of series) {
    let prev = -Infinity;
    let prevCount = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le!, 0);
      if (!(le > prev)) throw new Error(`${f.name}${k}: buckets not in increasing le order`);
      if (b.value < prevCount) throw new Error(`${f.name}${k}: bucket counts are not cumulative`);
      prev = le;
      prevCount = b.value;
    }
    if (prev !== Infinity) throw new Error(`${f.name}${k}: no +Inf bucket`);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && key(s.labels) === k);
    if (!count || count.value !== prevCount) throw new Error(`${f.name}${k}: _count differs from the +Inf bucket`);
  }
}

/** The value of one sample of a family, matched by a subset of its labels (undefined when absent). */
export function sampleValue(
  fams: Map<string, Family>,
  sample: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of fams.values()) {
    for (const s of f.samples) {
      if (s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
