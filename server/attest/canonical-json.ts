/**
 * Canonical JSON as securesystemslib (in-toto) computes it: sorted keys, no whitespace, only `\` and `"`
 * escaped, integers only. Signatures over in-toto metadata are over exactly these bytes.
 */
export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | { [k: string]: CanonicalValue };

export function canonicalJson(v: CanonicalValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`canonical JSON allows integers only, got ${v}`);
    return String(v);
  }
  if (typeof v === 'string') return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(v[k] as CanonicalValue)}`).join(',')}}`;
}
