"""TFRecord framing and a minimal `tf.train.Example` decoder, without TensorFlow (the image has none).

Framing: uint64 length, masked CRC-32C of the length, data, masked CRC-32C of the data (little-endian); both
CRCs are checked. Example{features:1} → Features{feature:1 map<string, Feature>} → Feature{bytes_list:1 |
float_list:2 | int64_list:3}, each list's values in field 1, packed or not. Hand-written, like
trainer/datasets/example-proto.ts, instead of the protobuf wheel plus generated code: four levels of three
fields, and every length is bounds-checked against the record it came from.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from .errors import TrainerError


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes | memoryview) -> int:
    # Pure Python, a few MB/s: enough for the bounded datasets a job takes (see datasets.MAX_DATASET_BYTES).
    c = 0xFFFFFFFF
    t = _TABLE
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes | memoryview) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(buf: bytes, name: str) -> Iterator[memoryview]:
    mv = memoryview(buf)
    pos = 0
    i = 0
    while pos < len(buf):
        if pos + 12 > len(buf):
            raise TrainerError("corrupt_archive", f"{name}: record {i} header is truncated", "dataset")
        (length,) = struct.unpack_from("<Q", buf, pos)
        if masked_crc32c(mv[pos : pos + 8]) != struct.unpack_from("<I", buf, pos + 8)[0]:
            raise TrainerError("corrupt_archive", f"{name}: record {i} length CRC mismatch", "dataset")
        start = pos + 12
        if start + length + 4 > len(buf):
            raise TrainerError("corrupt_archive", f"{name}: record {i} is truncated", "dataset")
        data = mv[start : start + length]
        if masked_crc32c(data) != struct.unpack_from("<I", buf, start + length)[0]:
            raise TrainerError("corrupt_archive", f"{name}: record {i} data CRC mismatch", "dataset")
        yield data
        pos = start + length + 4
        i += 1


def frame_record(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked_crc32c(head)) + data + struct.pack("<I", masked_crc32c(data))


class _Reader:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def varint(self) -> int:
        result = 0
        for shift in range(0, 70, 7):
            if self.pos >= len(self.buf):
                raise ValueError("truncated varint")
            b = self.buf[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
        raise ValueError("varint too long")

    def bytes(self) -> memoryview:
        n = self.varint()
        if self.pos + n > len(self.buf):
            raise ValueError("length past end of message")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def fixed(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError("field past end of message")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def fields(self) -> Iterator[tuple[int, int]]:
        while self.pos < len(self.buf):
            key = self.varint()
            yield key >> 3, key & 7

    def skip(self, wire: int) -> None:
        if wire == 0:
            self.varint()
        elif wire == 1:
            self.fixed(8)
        elif wire == 2:
            self.bytes()
        elif wire == 5:
            self.fixed(4)
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _feature(buf: memoryview) -> tuple[str, list]:
    r = _Reader(buf)
    kind, values = "float", []
    for num, wire in r.fields():
        if num not in (1, 2, 3) or wire != 2:
            r.skip(wire)
            continue
        kind = ("bytes", "float", "int64")[num - 1]
        lst = _Reader(r.bytes())
        for f, w in lst.fields():
            if f != 1:
                lst.skip(w)
            elif kind == "bytes" and w == 2:
                values.append(bytes(lst.bytes()))
            elif kind == "float" and w == 2:
                packed = lst.bytes()
                if len(packed) % 4:
                    raise ValueError("packed floats are not a multiple of 4 bytes")
                values.extend(struct.unpack(f"<{len(packed) // 4}f", packed))
            elif kind == "float" and w == 5:
                values.append(struct.unpack("<f", lst.fixed(4))[0])
            elif kind == "int64" and w == 2:
                packed = _Reader(lst.bytes())
                while packed.pos < len(packed.buf):
                    values.append(_int64(packed.varint()))
            elif kind == "int64" and w == 0:
                values.append(_int64(lst.varint()))
            else:
                raise ValueError(f"{kind}_list value has wire type {w}")
    return kind, values


def decode_example(data: memoryview, where: str) -> dict[str, tuple[str, list]]:
    """Feature name → (kind, values); kind is bytes | float | int64."""
    out: dict[str, tuple[str, list]] = {}
    try:
        ex = _Reader(data)
        for num, wire in ex.fields():
            if num != 1 or wire != 2:
                ex.skip(wire)
                continue
            feats = _Reader(ex.bytes())
            for fnum, fwire in feats.fields():
                if fnum != 1 or fwire != 2:
                    feats.skip(fwire)
                    continue
                entry = _Reader(feats.bytes())
                key, feat = "", None
                for enum_, ewire in entry.fields():
                    if enum_ == 1 and ewire == 2:
                        key = bytes(entry.bytes()).decode("utf-8")
                    elif enum_ == 2 and ewire == 2:
                        feat = _feature(entry.bytes())
                    else:
                        entry.skip(ewire)
                out[key] = feat if feat is not None else ("float", [])
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        raise TrainerError("corrupt_archive", f"{where}: not a valid tf.train.Example: {e}", "dataset") from None
    return out
