import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

/** One array of an `.npz` as its `.npy` header describes it. */
export interface NpyArray {
  name: string;
  /** numpy descr, e.g. `<f4`. */
  descr: string;
  shape: number[];
}

export class NpzError extends Error {
  override name = 'NpzError';
}

const ITEM_SIZE: Record<string, number> = { f2: 2, f4: 4, f8: 8, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, b1: 1 };

/**
 * Reads the arrays of an `.npz` (numpy's zip of `.npy` files, stored or deflated), checking each
 * header and that its data holds exactly shape × item size bytes. Only the headers are
 * interpreted; nothing is unpickled (object arrays are refused).
 */
export async function readNpz(filePath: string, maxBytes: number): Promise<NpyArray[]> {
  const buf = await readFile(filePath);
  if (buf.length > maxBytes) throw new NpzError(`the file is ${buf.length} bytes; at most ${maxBytes}`);
  if (buf.length < 22 || buf.readUInt32LE(0) !== 0x04034b50) {
    throw new NpzError('not an .npz file (numpy.savez writes a zip archive of .npy arrays)');
  }
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new NpzError('the .npz archive is truncated (no end-of-central-directory record)');
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const arrays: NpyArray[] = [];
  for (let i = 0; i < entries; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new NpzError(`the .npz central directory entry ${i} is malformed`);
    const method = buf.readUInt16LE(p + 10);
    let compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    // numpy writes zip64 extras for large arrays: sizes/offset then live in the extra field.
    if (compressed === 0xffffffff || local === 0xffffffff) {
      const extra = buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
      for (let e = 0; e + 4 <= extra.length; ) {
        const id = extra.readUInt16LE(e);
        const size = extra.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let o = e + 4;
          if (buf.readUInt32LE(p + 24) === 0xffffffff) o += 8;
          if (compressed === 0xffffffff) {
            compressed = Number(extra.readBigUInt64LE(o));
            o += 8;
          }
          if (local === 0xffffffff) local = Number(extra.readBigUInt64LE(o));
        }
        e += 4 + size;
      }
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (!name.endsWith('.npy')) throw new NpzError(`the .npz holds "${name}", which is not an .npy array`);
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw new NpzError(`array ${name}: local header missing`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + compressed > buf.length) throw new NpzError(`array ${name} is truncated`);
    const raw = buf.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: maxBytes * 4 });
      } catch (err) {
        throw new NpzError(`array ${name} cannot be decompressed: ${(err as Error).message}`);
      }
    } else throw new NpzError(`array ${name} uses zip compression method ${method}; numpy.savez / savez_compressed write 0 or 8`);
    arrays.push(parseNpy(name.slice(0, -4), data));
  }
  if (arrays.length === 0) throw new NpzError('the .npz holds no arrays');
  return arrays;
}

function parseNpy(name: string, data: Buffer): NpyArray {
  if (data.length < 10 || data.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new NpzError(`array ${name} is not an .npy array`);
  const major = data[6];
  const headerLen = major === 1 ? data.readUInt16LE(8) : data.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = data.subarray(headerStart, headerStart + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new NpzError(`array ${name} has an unreadable .npy header: ${header.trim()}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new NpzError(`array ${name} has an invalid shape (${shapeText})`);
  const item = ITEM_SIZE[descr.slice(1)];
  if (item === undefined) throw new NpzError(`array ${name} has dtype ${descr}; expected a numeric array (float32 for model inputs)`);
  if (fortran === 'True') throw new NpzError(`array ${name} is in Fortran order; save a C-contiguous array (numpy.ascontiguousarray)`);
  const expected = shape.reduce((a, b) => a * b, 1) * item;
  const got = data.length - headerStart - headerLen;
  if (got !== expected) throw new NpzError(`array ${name} holds ${got} bytes of data; its shape (${shape.join('×')}) needs ${expected}`);
  return { name, descr, shape };
}
