import { inflateRawSync } from 'node:zlib';

/**
 * Reader for NumPy's `.npz` (a zip of `.npy` files, as `np.savez` / `np.savez_compressed` write
 * them) and for the labelled eval sets the fidelity pass uses. Shared by the api (validation at
 * upload) and the harness (reading on the device), so both agree on what an eval set is.
 */

/** Element types an eval set may use (`.npy` descr without the byte-order mark). */
export const NPY_DTYPES = ['f4', 'f8', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'b1'] as const;
export type NpyDtype = (typeof NPY_DTYPES)[number];

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Row-major (C order) values; 64-bit integers as Numbers (eval-set labels and pixels are small). */
  values: Float64Array;
}

export class NpzError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpzError';
  }
}

const BYTES: Record<NpyDtype, number> = { f4: 4, f8: 8, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, b1: 1 };

/** The members of an `.npz`, by name without `.npy`. Throws NpzError naming the problem. */
export function readNpz(buf: Uint8Array, opts: { maxEntries?: number } = {}): Map<string, NpyArray> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Map<string, NpyArray>();
  for (const entry of zipEntries(b, opts.maxEntries ?? 64)) {
    if (!entry.name.endsWith('.npy')) continue;
    const name = entry.name.slice(0, -4);
    try {
      out.set(name, readNpy(entry.data()));
    } catch (err) {
      throw new NpzError(`${name}: ${(err as Error).message}`);
    }
  }
  return out;
}

interface ZipEntry {
  name: string;
  data(): Buffer;
}

function zipEntries(b: Buffer, maxEntries: number): ZipEntry[] {
  // End of central directory: the last PK\5\6 within the final 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 65_557); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new NpzError('not an .npz file (no zip directory found); write it with numpy.savez(file, inputs=..., labels=...)');
  let count = b.readUInt16LE(eocd + 10);
  let cdOffset = b.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const locator = eocd - 20;
    if (locator < 0 || b.readUInt32LE(locator) !== 0x07064b50) throw new NpzError('zip64 directory locator missing');
    const z64 = Number(b.readBigUInt64LE(locator + 8));
    if (z64 + 56 > b.length || b.readUInt32LE(z64) !== 0x06064b50) throw new NpzError('zip64 directory record missing');
    count = Number(b.readBigUInt64LE(z64 + 32));
    cdOffset = Number(b.readBigUInt64LE(z64 + 48));
  }
  if (count > maxEntries) throw new NpzError(`the .npz has ${count} members; at most ${maxEntries}`);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) throw new NpzError('corrupt zip central directory');
    const method = b.readUInt16LE(p + 10);
    let compressed = b.readUInt32LE(p + 20);
    let size = b.readUInt32LE(p + 24);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let local = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field: the 64-bit values present are those whose 32-bit fields are saturated.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = b.readUInt16LE(e);
      const len = b.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = Number(b.readBigUInt64LE(q));
          q += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(b.readBigUInt64LE(q));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(b.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > b.length || b.readUInt32LE(local) !== 0x04034b50) throw new NpzError(`corrupt zip entry ${name}`);
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    if (start + compressed > b.length) throw new NpzError(`zip entry ${name} is truncated`);
    entries.push({
      name,
      data: () => {
        const raw = b.subarray(start, start + compressed);
        if (method === 0) return raw;
        if (method === 8) {
          const inflated = inflateRawSync(raw, { maxOutputLength: size });
          if (inflated.length !== size) throw new NpzError(`zip entry ${name} inflates to ${inflated.length} bytes, not ${size}`);
          return inflated;
        }
        throw new NpzError(`zip entry ${name} uses compression method ${method}; numpy.savez or savez_compressed write 0 or 8`);
      },
    });
  }
  return entries;
}

/** One `.npy` array (format versions 1–3, little-endian or single-byte types, C order). */
export function readNpy(b: Buffer): NpyArray {
  if (b.length < 10 || b.readUInt32BE(0) !== 0x934e554d || b.toString('latin1', 4, 6) !== 'PY') throw new Error('not a .npy array');
  const major = b[6];
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = b.toString('latin1', headerStart, headerStart + headerLen);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`unreadable .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw new Error('Fortran-order arrays are not supported; save a C-order array (numpy.ascontiguousarray)');
  const order = descr[0];
  const dtype = descr.slice(1) as NpyDtype;
  if (!(NPY_DTYPES as readonly string[]).includes(dtype) || order === '>') {
    throw new Error(`element type '${descr}' is not supported (little-endian ${NPY_DTYPES.join(', ')})`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`bad shape (${shapeText})`);
  const count = shape.reduce((n, d) => n * d, 1);
  const start = headerStart + headerLen;
  const need = count * BYTES[dtype];
  if (b.length - start < need) throw new Error(`data is truncated: ${b.length - start} bytes for ${count} × ${descr}`);
  const data = Buffer.from(b.subarray(start, start + need)); // aligned copy
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + need);
  const values = new Float64Array(count);
  const view: ArrayLike<number | bigint> =
    dtype === 'f4' ? new Float32Array(ab) : dtype === 'f8' ? new Float64Array(ab) : dtype === 'i1' ? new Int8Array(ab)
      : dtype === 'u1' || dtype === 'b1' ? new Uint8Array(ab) : dtype === 'i2' ? new Int16Array(ab) : dtype === 'u2' ? new Uint16Array(ab)
        : dtype === 'i4' ? new Int32Array(ab) : dtype === 'u4' ? new Uint32Array(ab) : dtype === 'i8' ? new BigInt64Array(ab) : new BigUint64Array(ab);
  for (let i = 0; i < count; i++) values[i] = Number(view[i]);
  return { dtype, shape, values };
}

/** What an eval set holds, once validated. */
export interface EvalSetInfo {
  /** Labelled samples. */
  count: number;
  /** Shape of one sample (`inputs` without its first dimension). */
  sampleShape: number[];
  inputDtype: NpyDtype;
  /** Smallest and largest label: a model with C outputs needs `maxLabel < C`. */
  minLabel: number;
  maxLabel: number;
}

/** @defaultValue 100000 samples */
export const EVAL_SET_MAX_SAMPLES = 100_000;

/**
 * An eval set: an `.npz` with `inputs` ([N, ...sample shape], numeric) and `labels` ([N] or
 * [N, 1], non-negative integers). Throws NpzError naming the member and the problem.
 */
export function readEvalSet(buf: Uint8Array, opts: { maxSamples?: number } = {}): { info: EvalSetInfo; inputs: NpyArray; labels: Int32Array } {
  const members = readNpz(buf);
  const inputs = members.get('inputs');
  const labelsArr = members.get('labels');
  const have = [...members.keys()].join(', ') || 'none';
  if (!inputs) throw new NpzError(`the eval set has no 'inputs' array (it has: ${have})`);
  if (!labelsArr) throw new NpzError(`the eval set has no 'labels' array (it has: ${have})`);
  if (inputs.shape.length < 2) throw new NpzError(`inputs: shape [${inputs.shape.join(', ')}] must be [N, ...one sample's shape]`);
  const n = inputs.shape[0];
  if (n === 0) throw new NpzError('inputs: the eval set is empty');
  const max = opts.maxSamples ?? EVAL_SET_MAX_SAMPLES;
  if (n > max) throw new NpzError(`inputs: ${n} samples; at most ${max}`);
  if (inputs.dtype === 'b1') throw new NpzError('inputs: boolean inputs are not supported');
  const ls = labelsArr.shape;
  if (!(ls.length === 1 || (ls.length === 2 && ls[1] === 1)) || ls[0] !== n) {
    throw new NpzError(`labels: shape [${ls.join(', ')}] does not fit ${n} inputs (expected [${n}])`);
  }
  const labels = new Int32Array(n);
  let minLabel = Infinity;
  let maxLabel = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = labelsArr.values[i];
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) throw new NpzError(`labels[${i}] is ${v}; labels must be class indices (integers >= 0)`);
    labels[i] = v;
    minLabel = Math.min(minLabel, v);
    maxLabel = Math.max(maxLabel, v);
  }
  for (let i = 0; i < inputs.values.length; i++) {
    if (!Number.isFinite(inputs.values[i])) throw new NpzError(`inputs: element ${i} is ${inputs.values[i]}; inputs must be finite`);
  }
  return { info: { count: n, sampleShape: inputs.shape.slice(1), inputDtype: inputs.dtype, minLabel, maxLabel }, inputs, labels };
}

/**
 * How one eval-set sample becomes the model's input: equal shapes, or the model's input is a
 * batch of one of them. Returns a message naming both shapes when it does not fit.
 */
export function evalSampleFits(sampleShape: number[], inputShape: number[]): string | null {
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(sampleShape, inputShape) || (inputShape[0] === 1 && same(sampleShape, inputShape.slice(1)))) return null;
  return `eval set samples have shape [${sampleShape.join(', ')}], which does not fit the model input [${inputShape.join(', ')}] (expected [${inputShape.slice(1).join(', ')}] or [${inputShape.join(', ')}])`;
}
