import { bufferSource, type ByteSource } from './byte-source.js';
import { readZipDirectory, readZipEntry, ZipError } from './zip.js';

/**
 * Reader for NumPy's `.npz` (a zip of `.npy` files, as `np.savez` / `np.savez_compressed` write
 * them) and for the labelled eval sets the fidelity pass uses. Shared by the api (validation at
 * upload) and the harness (reading on the device), so both agree on what an eval set is.
 */

/** Element types an `.npz` member may use (`.npy` descr without the byte-order mark). */
export const NPY_DTYPES = ['f2', 'f4', 'f8', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'b1'] as const;
export type NpyDtype = (typeof NPY_DTYPES)[number];

/** One member of an `.npz` as its `.npy` header describes it (its data checked to hold exactly shape × item size bytes). */
export interface NpyHeader {
  dtype: NpyDtype;
  /** numpy descr as written, e.g. `<f4`. */
  descr: string;
  shape: number[];
}

export interface NpyArray extends NpyHeader {
  /** Row-major (C order) values; 64-bit integers as Numbers (eval-set labels and pixels are small). */
  values: Float64Array;
}

export class NpzError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpzError';
  }
}

const BYTES: Record<NpyDtype, number> = { f2: 2, f4: 4, f8: 8, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, b1: 1 };

/** Limits of one read. */
export interface NpzLimits {
  /** @defaultValue 64 members */
  maxEntries?: number;
  /**
   * The most bytes the members may inflate to, all together, by their declared sizes (a zip
   * bomb is refused before it is inflated). @defaultValue 1 GiB
   */
  maxInflatedBytes?: number;
}

/** The members of an `.npz` with their values, by name without `.npy`. Throws NpzError naming the problem. */
export function readNpz(buf: Uint8Array, opts: NpzLimits = {}): Map<string, NpyArray> {
  return readMembers(bufferSource(buf), opts, (data) => readNpy(data));
}

/**
 * The members of an `.npz` by name, headers only: dtype and shape, each member inflated and
 * checked to hold exactly the data its header describes, no value decoded (the api checks a
 * calibration set of gigabytes of samples this way). Throws NpzError naming the problem.
 */
export function readNpzHeaders(src: Uint8Array | ByteSource, opts: NpzLimits = {}): Map<string, NpyHeader> {
  return readMembers(src instanceof Uint8Array ? bufferSource(src) : src, opts, (data) => npyHeader(data).header);
}

function readMembers<T>(src: ByteSource, opts: NpzLimits, read: (data: Uint8Array) => T): Map<string, T> {
  const maxInflated = opts.maxInflatedBytes ?? 2 ** 30;
  const out = new Map<string, T>();
  try {
    if (src.size < 22) throw new NpzError('not an .npz file (too short for a zip archive); write it with numpy.savez(file, inputs=..., labels=...)');
    let entries;
    try {
      entries = readZipDirectory(src);
    } catch (err) {
      if (err instanceof ZipError) throw new NpzError(`not an .npz file (${err.message}); write it with numpy.savez(file, inputs=..., labels=...)`);
      throw err;
    }
    const maxEntries = opts.maxEntries ?? 64;
    if (entries.length > maxEntries) throw new NpzError(`the .npz has ${entries.length} members; at most ${maxEntries}`);
    const declared = entries.reduce((n, e) => n + e.size, 0);
    if (declared > maxInflated) throw new NpzError(`the .npz declares ${declared} bytes uncompressed; at most ${maxInflated}`);
    for (const entry of entries) {
      if (!entry.name.endsWith('.npy')) throw new NpzError(`not an .npz file: it holds "${entry.name}", which is not an .npy array`);
      const name = entry.name.slice(0, -4);
      const data = readZipEntry(src, entry, { maxBytes: maxInflated });
      try {
        out.set(name, read(data));
      } catch (err) {
        throw new NpzError(`${name}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    if (err instanceof ZipError) throw new NpzError(`the .npz archive is corrupt: ${err.message}`);
    throw err;
  }
  if (out.size === 0) throw new NpzError('the .npz holds no arrays');
  return out;
}

/** The `.npy` header, where the data starts, and a check that the data holds exactly shape × item size bytes. */
function npyHeader(b: Uint8Array): { header: NpyHeader; start: number; count: number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const latin1 = (from: number, to: number) => String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));
  if (b.length < 10 || view.getUint32(0) !== 0x934e554d || latin1(4, 6) !== 'PY') throw new Error('not a .npy array');
  const major = b[6];
  if (major < 1 || major > 3) throw new Error(`.npy format version ${major} is not supported (1 to 3)`);
  const headerStart = major === 1 ? 10 : 12;
  if (b.length < headerStart) throw new Error('the .npy header is truncated');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerStart + headerLen > b.length) throw new Error(`the .npy header is truncated (${headerLen} bytes declared)`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(b.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`unreadable .npy header ${JSON.stringify(text.trim())}`);
  if (fortran === 'True') throw new Error('Fortran-order arrays are not supported; save a C-order array (numpy.ascontiguousarray)');
  const order = descr[0];
  const dtype = descr.slice(1) as NpyDtype;
  if (!(NPY_DTYPES as readonly string[]).includes(dtype) || order === '>' || (order !== '<' && order !== '|')) {
    throw new Error(`element type '${descr}' is not supported (little-endian ${NPY_DTYPES.join(', ')})`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`bad shape (${shapeText})`);
  const count = shape.reduce((n, d) => n * d, 1);
  const start = headerStart + headerLen;
  const need = count * BYTES[dtype];
  const got = b.length - start;
  if (got < need) throw new Error(`data is truncated: ${got} bytes for ${count} × ${descr} (shape [${shape.join(', ')}] needs ${need})`);
  if (got > need) throw new Error(`data holds ${got} bytes; its shape [${shape.join(', ')}] of ${descr} needs ${need}`);
  return { header: { dtype, descr, shape }, start, count };
}

/** IEEE 754 half precision → number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** One `.npy` array (format versions 1–3, little-endian or single-byte types, C order). */
export function readNpy(b: Uint8Array): NpyArray {
  const { header, start, count } = npyHeader(b);
  const { dtype } = header;
  const need = count * BYTES[dtype];
  const ab = new Uint8Array(b.subarray(start, start + need)).buffer; // an aligned copy (Buffer.slice would be a view)
  const values = new Float64Array(count);
  if (dtype === 'f2') {
    const halves = new Uint16Array(ab);
    for (let i = 0; i < count; i++) values[i] = halfToNumber(halves[i]);
    return { ...header, values };
  }
  const view: ArrayLike<number | bigint> = new ({
    f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, b1: Uint8Array, i2: Int16Array, u2: Uint16Array,
    i4: Int32Array, u4: Uint32Array, i8: BigInt64Array, u8: BigUint64Array,
  } as const)[dtype](ab);
  for (let i = 0; i < count; i++) values[i] = Number(view[i]);
  return { ...header, values };
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
