/**
 * A tiny protobuf codec for `tf.train.Example` (Example{features:1} → Features{feature:1 map<string,Feature>}
 * → Feature{bytes_list:1 | float_list:2 | int64_list:3}, each list's `value` = field 1, packed or not).
 * Written by hand instead of pulling protobufjs + .proto files into the trainer bundle: the message is four
 * levels of three fields, and a hand decoder bounds-checks every length against the record it came from.
 */
import { TrainerError } from '../errors.ts';

export type Feature =
  | { kind: 'bytes'; values: Uint8Array[] }
  | { kind: 'float'; values: number[] }
  | { kind: 'int64'; values: number[] };

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
  /** int64 as a JS number (two's complement via BigInt, so negatives decode exactly; exact within ±2^53). */
  int64(): number {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, v));
      shift += 7n;
    }
    throw new Error('varint too long');
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('length past end of message');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new Error('field past end of message');
  }
}

function* fields(buf: Uint8Array): Generator<{ field: number; wire: number; r: Reader }> {
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const tag = r.varint();
    yield { field: Math.floor(tag / 8), wire: tag & 7, r };
  }
}

function decodeList(buf: Uint8Array, kind: Feature['kind']): Feature {
  if (kind === 'bytes') {
    const values: Uint8Array[] = [];
    for (const { field, wire, r } of fields(buf)) field === 1 && wire === 2 ? values.push(r.bytes()) : r.skip(wire);
    return { kind, values };
  }
  const values: number[] = [];
  for (const { field, wire, r } of fields(buf)) {
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    if (kind === 'float') {
      if (wire === 2) {
        const b = r.bytes();
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        for (let i = 0; i + 4 <= b.length; i += 4) values.push(dv.getFloat32(i, true));
      } else if (wire === 5) {
        if (r.pos + 4 > r.end) throw new Error('truncated float');
        values.push(new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 4).getFloat32(0, true));
        r.pos += 4;
      } else r.skip(wire);
    } else if (wire === 2) {
      const len = r.varint();
      const end = r.pos + len;
      if (end > r.end) throw new Error('length past end of message');
      const sub = new Reader(r.buf, end);
      sub.pos = r.pos;
      while (sub.pos < end) values.push(sub.int64());
      r.pos = end;
    } else if (wire === 0) values.push(r.int64());
    else r.skip(wire);
  }
  return { kind, values };
}

function decodeFeature(buf: Uint8Array): Feature {
  for (const { field, wire, r } of fields(buf)) {
    if (wire === 2 && field >= 1 && field <= 3)
      return decodeList(r.bytes(), field === 1 ? 'bytes' : field === 2 ? 'float' : 'int64');
    r.skip(wire);
  }
  return { kind: 'float', values: [] };
}

/** Decodes one serialized `tf.train.Example` into its feature map. */
export function decodeExample(buf: Uint8Array, where: string): Map<string, Feature> {
  const out = new Map<string, Feature>();
  try {
    for (const ex of fields(buf)) {
      if (ex.field !== 1 || ex.wire !== 2) {
        ex.r.skip(ex.wire);
        continue;
      }
      for (const fs of fields(ex.r.bytes())) {
        if (fs.field !== 1 || fs.wire !== 2) {
          fs.r.skip(fs.wire);
          continue;
        }
        let key = '';
        let feature: Feature = { kind: 'float', values: [] };
        for (const e of fields(fs.r.bytes())) {
          if (e.field === 1 && e.wire === 2) key = new TextDecoder().decode(e.r.bytes());
          else if (e.field === 2 && e.wire === 2) feature = decodeFeature(e.r.bytes());
          else e.r.skip(e.wire);
        }
        out.set(key, feature);
      }
    }
  } catch (e) {
    throw new TrainerError(
      'corrupt_archive',
      `${where}: not a valid tf.train.Example: ${(e as Error).message}`,
      'dataset',
    );
  }
  return out;
}

// ---- encoder (fixtures and tests write TFRecords with it) ----
function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  while (v >= 128n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
function lenField(field: number, body: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint(field * 8 + 2), ...varint(body.length), ...body]);
}
function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

export function encodeExample(features: Record<string, Feature>): Uint8Array {
  const entries = Object.entries(features).map(([key, f]) => {
    let list: Uint8Array;
    if (f.kind === 'bytes') list = concat(f.values.map((v) => lenField(1, v)));
    else if (f.kind === 'float') {
      const b = new Uint8Array(f.values.length * 4);
      const dv = new DataView(b.buffer);
      f.values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      list = lenField(1, b);
    } else list = lenField(1, Uint8Array.from(f.values.flatMap(varint)));
    const feature = lenField(f.kind === 'bytes' ? 1 : f.kind === 'float' ? 2 : 3, list);
    return lenField(1, concat([lenField(1, new TextEncoder().encode(key)), lenField(2, feature)]));
  });
  return lenField(1, concat(entries));
}
