import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { constants, createDeflateRaw, crc32 } from 'node:zlib';

/**
 * Writes a zip whose one entry, `name`, inflates to `bytes` zeros (deflate shrinks zeros ~1000×), streamed with
 * the native deflater: a 4 GiB bomb takes seconds and a few MiB of memory. The entry uses a data descriptor (flag
 * bit 3), so the local header needs no sizes; `bytes` stays below 4 GiB (no ZIP64).
 */
export async function writeZipBomb(path: string, name: string, bytes: number): Promise<number> {
  if (bytes >= 2 ** 32) throw new Error('writeZipBomb: below 4 GiB (no ZIP64)');
  const out = createWriteStream(path);
  const fileName = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0x0008, 6); // data descriptor follows
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt16LE(fileName.length, 26);
  out.write(Buffer.concat([local, fileName]));
  const deflate = createDeflateRaw({ level: 1, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY });
  let compressed = 0;
  deflate.on('data', (c: Buffer) => {
    compressed += c.length;
    if (!out.write(c)) deflate.pause();
  });
  out.on('drain', () => deflate.resume());
  const zeros = Buffer.alloc(16 << 20);
  let crc = 0;
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, zeros.length);
    const part = n === zeros.length ? zeros : zeros.subarray(0, n);
    crc = crc32(part, crc);
    if (!deflate.write(part)) await once(deflate, 'drain');
    left -= n;
  }
  deflate.end();
  await once(deflate, 'end');
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(crc >>> 0, 4);
  descriptor.writeUInt32LE(compressed, 8);
  descriptor.writeUInt32LE(bytes, 12);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0008, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(compressed, 20);
  central.writeUInt32LE(bytes, 24);
  central.writeUInt16LE(fileName.length, 28);
  const centralStart = 30 + fileName.length + compressed + 16;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + fileName.length, 12);
  end.writeUInt32LE(centralStart, 16);
  out.end(Buffer.concat([descriptor, central, fileName, end]));
  await once(out, 'close');
  return centralStart + 46 + fileName.length + 22;
}
