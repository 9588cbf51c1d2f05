import { inflateRawSync } from 'node:zlib';
import type { ByteSource } from './byte-source.js';

/** A zip archive that is truncated or corrupt, or asks for more than allowed; the message names the entry. */
export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

/** One entry of a zip's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  /** Uncompressed size, as the directory declares it. */
  size: number;
  localHeaderOffset: number;
}

/** @defaultValue 64 MiB: a central directory larger than this is refused unread. */
export const ZIP_MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Whether the bytes start like a zip archive (a local file header). */
export function looksLikeZip(src: ByteSource): boolean {
  return src.size >= 4 && dataView(src.read(0, 4)).getUint32(0, true) === LOCAL;
}

/**
 * The central directory of a zip archive (zip64 included), read from its end: every entry's
 * name, method, sizes and offset, each checked to lie inside the file. Nothing is inflated.
 * The one zip reader of the repo: PyTorch archives (.ptl/.pt) and NumPy's .npz go through it.
 */
export function readZipDirectory(src: ByteSource, opts: { maxEntries?: number } = {}): ZipEntry[] {
  // The end-of-central-directory record sits in the last 22..65557 bytes.
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tailStart = src.size - tailLen;
  const tail = dataView(src.read(tailStart, tailLen));
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record (not a zip archive, or truncated)');
  const eocdPos = tailStart + eocd;
  let count = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  let cdLimit = eocdPos;
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff || count === 0xffff) {
    // zip64: the locator just before the end record points at the zip64 end record.
    if (eocdPos < 20) throw new ZipError('zip64 locator missing');
    const loc = dataView(src.read(eocdPos - 20, 20));
    if (loc.getUint32(0, true) !== ZIP64_LOCATOR) throw new ZipError('zip64 locator missing');
    const z64 = Number(loc.getBigUint64(8, true));
    if (z64 + 56 > src.size) throw new ZipError('zip64 end record out of range');
    const rec = dataView(src.read(z64, 56));
    if (rec.getUint32(0, true) !== ZIP64_EOCD) throw new ZipError('zip64 end record signature wrong');
    count = Number(rec.getBigUint64(32, true));
    cdSize = Number(rec.getBigUint64(40, true));
    cdOffset = Number(rec.getBigUint64(48, true));
    cdLimit = z64;
  }
  if (opts.maxEntries !== undefined && count > opts.maxEntries) throw new ZipError(`the archive has ${count} entries; at most ${opts.maxEntries}`);
  if (cdOffset + cdSize > cdLimit) throw new ZipError(`central directory (${cdOffset}+${cdSize}) overlaps its end record at ${cdLimit}`);
  if (cdSize > ZIP_MAX_DIRECTORY_BYTES) throw new ZipError(`central directory larger than ${ZIP_MAX_DIRECTORY_BYTES} bytes`);
  const cdBytes = src.read(cdOffset, cdSize);
  const cd = dataView(cdBytes);
  const decoder = new TextDecoder();
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || cd.getUint32(p, true) !== CENTRAL) throw new ZipError(`central directory entry ${i} is malformed`);
    const method = cd.getUint16(p + 10, true);
    let compressedSize = cd.getUint32(p + 20, true);
    let size = cd.getUint32(p + 24, true);
    const nameLen = cd.getUint16(p + 28, true);
    const extraLen = cd.getUint16(p + 30, true);
    const commentLen = cd.getUint16(p + 32, true);
    let localHeaderOffset = cd.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > cdSize) throw new ZipError(`central directory entry ${i} is malformed`);
    const name = decoder.decode(cdBytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field: the 64-bit values present are those whose 32-bit fields are saturated, in this order.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = cd.getUint16(e, true);
      const len = cd.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + len) throw new ZipError(`entry ${name}: zip64 extra field too short`);
          const v = Number(cd.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + len;
    }
    if (localHeaderOffset >= cdOffset) throw new ZipError(`entry ${name} points past the data`);
    entries.push({ name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * One entry's bytes, inflated. A zip bomb is refused before anything is inflated by its declared
 * size (`maxBytes`), and inflating never produces more than the declared size: an entry that
 * would is refused as corrupt.
 */
export function readZipEntry(src: ByteSource, entry: ZipEntry, opts: { maxBytes: number }): Uint8Array {
  const { name, localHeaderOffset: local, compressedSize, size } = entry;
  if (size > opts.maxBytes) throw new ZipError(`entry ${name} declares ${size} bytes uncompressed; at most ${opts.maxBytes}`);
  if (local + 30 > src.size || dataView(src.read(local, 30)).getUint32(0, true) !== LOCAL) throw new ZipError(`entry ${name}: local header missing`);
  const header = dataView(src.read(local, 30));
  const start = local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  if (start + compressedSize > src.size) throw new ZipError(`entry ${name} is truncated`);
  const raw = src.read(start, compressedSize);
  if (entry.method === 0) {
    if (compressedSize !== size) throw new ZipError(`entry ${name} is stored with ${compressedSize} bytes but declares ${size}`);
    return raw;
  }
  if (entry.method !== 8) throw new ZipError(`entry ${name} uses compression method ${entry.method}; only 0 (stored) and 8 (deflate) are read`);
  let inflated: Buffer;
  try {
    // One byte over the declared size is enough to know the entry lies about it.
    inflated = inflateRawSync(raw, { maxOutputLength: size + 1 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw new ZipError(`entry ${name} inflates to more than the ${size} bytes its directory declares`);
    throw new ZipError(`entry ${name} cannot be inflated: ${e.message}`);
  }
  if (inflated.length !== size) throw new ZipError(`entry ${name} inflates to ${inflated.length} bytes, not the ${size} its directory declares`);
  return inflated;
}
