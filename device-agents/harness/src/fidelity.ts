import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_FIDELITY_INPUTS,
  DEFAULT_FIDELITY_SEED,
  evalSampleFits,
  NpzError,
  readEvalSet,
  type BenchErrorClass,
  type BenchFidelity,
  type BenchSpec,
  type FidelityAccuracy,
  type FidelityOutputMetrics,
} from '@pocketbench/contracts';
import { elementCount, generateInput, sha256Tag } from './seeded-input.js';

/** A fidelity problem that ends the session with an error of this class (the spec's or the model's fault). */
export class FidelityError extends Error {
  constructor(
    readonly errorClass: BenchErrorClass,
    message: string,
  ) {
    super(message);
  }
}

export interface PreparedFidelity {
  seeded: number;
  evalSamples: number;
  seed: number;
  /** One file per model input: every sample of that input, back to back. */
  inputFiles: string[];
  inputDigest: string;
  labels?: Int32Array;
}

function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Writes the fidelity samples for the runner: `inputs` seeded samples, then the eval set's,
 * one file per model input. Checks the eval set (hash, contents, shape against the model's
 * input) and the reference file (hash, size) first, so a bad one fails before anything runs.
 */
export async function prepareFidelity(spec: BenchSpec, scratch: string): Promise<PreparedFidelity> {
  const f = spec.fidelity!;
  const seeded = f.inputs ?? DEFAULT_FIDELITY_INPUTS;
  const seed = f.seed ?? DEFAULT_FIDELITY_SEED;
  const chunks: Buffer[][] = spec.inputs.map(() => []);
  for (let k = 0; k < seeded; k++) {
    spec.inputs.forEach((input, i) => chunks[i].push(generateInput(input, (seed + k * spec.inputs.length + i) >>> 0)));
  }
  let labels: Int32Array | undefined;
  let evalSamples = 0;
  if (f.evalSet) {
    const bytes = await readFile(f.evalSet.path).catch((err: NodeJS.ErrnoException) => {
      throw new FidelityError('bad_spec', `eval set not found at ${f.evalSet!.path} (${err.code ?? err.message})`);
    });
    if (sha256Hex(bytes) !== f.evalSet.sha256) throw new FidelityError('bad_spec', `eval set ${f.evalSet.path} does not have sha256 ${f.evalSet.sha256}`);
    let set: ReturnType<typeof readEvalSet>;
    try {
      set = readEvalSet(bytes);
    } catch (err) {
      if (err instanceof NpzError) throw new FidelityError('bad_spec', `eval set: ${err.message}`);
      throw err;
    }
    if (spec.inputs.length !== 1) {
      throw new FidelityError('bad_spec', `an eval set needs a model with one input; this spec has ${spec.inputs.length} (${spec.inputs.map((i) => i.name).join(', ')})`);
    }
    const input = spec.inputs[0];
    const misfit = evalSampleFits(set.info.sampleShape, input.shape);
    if (misfit) throw new FidelityError('input_mismatch', misfit);
    if (input.dtype !== 'float32' && (set.info.inputDtype === 'f4' || set.info.inputDtype === 'f8')) {
      throw new FidelityError('input_mismatch', `eval set inputs are floating point (${set.info.inputDtype}) but the model input '${input.name}' is ${input.dtype}`);
    }
    const per = elementCount(input.shape);
    for (let s = 0; s < set.info.count; s++) {
      const v = set.inputs.values.subarray(s * per, (s + 1) * per);
      const typed =
        input.dtype === 'float32' ? Float32Array.from(v) : input.dtype === 'int32' ? Int32Array.from(v)
          : input.dtype === 'uint8' ? Uint8Array.from(v) : BigInt64Array.from(v, (x) => BigInt(x));
      chunks[0].push(Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
    }
    labels = set.labels;
    evalSamples = set.info.count;
  }
  if (seeded + evalSamples === 0) throw new FidelityError('bad_spec', '/fidelity: no samples (inputs is 0 and there is no eval set)');
  const inputFiles: string[] = [];
  const all: Buffer[] = [];
  for (const [i, list] of chunks.entries()) {
    const file = path.join(scratch, `fidelity-input-${i}.bin`);
    const joined = Buffer.concat(list);
    await writeFile(file, joined);
    inputFiles.push(file);
    all.push(joined);
  }
  if (f.reference) {
    const ref = await readFile(f.reference.path).catch((err: NodeJS.ErrnoException) => {
      throw new FidelityError('bad_spec', `reference outputs not found at ${f.reference!.path} (${err.code ?? err.message})`);
    });
    if (sha256Hex(ref) !== f.reference.sha256) throw new FidelityError('bad_spec', `reference outputs ${f.reference.path} do not have sha256 ${f.reference.sha256}`);
    const expected = (seeded + evalSamples) * f.reference.outputs.reduce((n, o) => n + elementCount(o.shape), 0) * 4;
    if (ref.length !== expected) {
      throw new FidelityError('bad_spec', `reference outputs hold ${ref.length} bytes; ${seeded + evalSamples} samples of outputs ${shapesText(f.reference.outputs)} need ${expected}`);
    }
  }
  return { seeded, evalSamples, seed, inputFiles, inputDigest: sha256Tag(...all), ...(labels ? { labels } : {}) };
}

function shapesText(outputs: { shape: number[] }[]): string {
  return outputs.map((o) => `[${o.shape.join(', ')}]`).join(', ');
}

/**
 * Agreement and accuracy from the runner's fidelity outputs: per output against the reference's
 * (classes along the last dimension), and the eval samples' top-1/top-5 against their labels.
 */
export async function fidelityReport(
  spec: BenchSpec,
  prepared: PreparedFidelity,
  outputsFile: string,
  outputs: { dtype: string; shape: number[] }[],
): Promise<BenchFidelity> {
  const f = spec.fidelity!;
  const samples = prepared.seeded + prepared.evalSamples;
  const per = outputs.map((o) => elementCount(o.shape));
  const stride = per.reduce((a, b) => a + b, 0);
  const raw = await readFile(outputsFile);
  if (raw.length !== samples * stride * 4) {
    throw new FidelityError('internal', `the runner wrote ${raw.length} bytes of fidelity outputs; ${samples} samples of ${shapesText(outputs)} are ${samples * stride * 4}`);
  }
  if (f.outputsPath) await writeFile(f.outputsPath, raw);
  const mine = floats(raw);
  const report: BenchFidelity = {
    seededInputs: prepared.seeded,
    evalSamples: prepared.evalSamples,
    seed: prepared.seed,
    inputDigest: prepared.inputDigest,
    outputs: outputs.map((o, index) => ({ index, dtype: C10_DTYPES[o.dtype] ?? o.dtype, shape: o.shape })),
  };
  let ref: Float32Array | undefined;
  if (f.reference) {
    const same = f.reference.outputs.length === outputs.length && f.reference.outputs.every((o, j) => o.shape.join('x') === outputs[j].shape.join('x'));
    if (!same) {
      throw new FidelityError('bad_spec', `the reference's outputs ${shapesText(f.reference.outputs)} differ from this model's ${shapesText(outputs)}: they cannot be compared`);
    }
    const refBytes = await readFile(f.reference.path);
    ref = floats(refBytes);
    report.referenceDigest = `sha256:${sha256Hex(refBytes)}`;
    report.agreement = outputs.map((o, j) => compareOutput(mine, ref!, samples, stride, offsetOf(per, j), per[j], o.shape, j));
  }
  if (prepared.labels) {
    report.accuracy = accuracy(spec, prepared, mine, ref, stride, per, outputs);
  }
  return report;
}

/** c10's scalar type names (the lite interpreter's) as ONNX Runtime spells them, so reports of both runtimes compare. */
const C10_DTYPES: Record<string, string> = { Float: 'float32', Double: 'float64', Half: 'float16', BFloat16: 'bfloat16', Long: 'int64', Int: 'int32', Short: 'int16', Char: 'int8', Byte: 'uint8', Bool: 'bool' };

function floats(b: Buffer): Float32Array {
  const copy = Buffer.from(b); // aligned
  return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
}

function offsetOf(per: number[], j: number): number {
  return per.slice(0, j).reduce((a, b) => a + b, 0);
}

function classesOf(shape: number[]): number {
  return shape.length ? Math.max(1, shape[shape.length - 1]) : 1;
}

/** Indices of the k largest values of a row, largest first. */
function topK(row: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < row.length; i++) {
    let pos = idx.length;
    while (pos > 0 && row[idx[pos - 1]] < row[i]) pos--;
    if (pos < k) {
      idx.splice(pos, 0, i);
      if (idx.length > k) idx.pop();
    }
  }
  return idx;
}

/** Metrics of one output over every sample: rows are the output's slices along its last dimension. */
export function compareOutput(
  mine: Float32Array,
  ref: Float32Array,
  samples: number,
  stride: number,
  offset: number,
  size: number,
  shape: number[],
  index: number,
): FidelityOutputMetrics {
  const classes = classesOf(shape);
  const k5 = Math.min(5, classes);
  let rows = 0;
  let agree = 0;
  let overlap = 0;
  let cosSum = 0;
  let cosMin = Infinity;
  let maxAbs = 0;
  let signal = 0;
  let noise = 0;
  for (let s = 0; s < samples; s++) {
    const base = s * stride + offset;
    const a = mine.subarray(base, base + size);
    const b = ref.subarray(base, base + size);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < size; i++) {
      const d = a[i] - b[i];
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
      noise += d * d;
      maxAbs = Math.max(maxAbs, Math.abs(d));
    }
    signal += nb;
    const cos = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
    cosSum += cos;
    cosMin = Math.min(cosMin, cos);
    for (let r = 0; r + classes <= size; r += classes) {
      const ta = topK(a.subarray(r, r + classes), k5);
      const tb = topK(b.subarray(r, r + classes), k5);
      rows++;
      if (ta[0] === tb[0]) agree++;
      overlap += ta.filter((x) => tb.includes(x)).length / k5;
    }
  }
  return {
    index,
    shape,
    rows,
    top1Agree: agree,
    top1AgreementPct: rows ? (100 * agree) / rows : 0,
    top5OverlapPct: rows ? (100 * overlap) / rows : 0,
    cosine: samples ? cosSum / samples : 0,
    cosineMin: samples ? cosMin : 0,
    maxAbsError: maxAbs,
    snrDb: noise === 0 ? null : 10 * Math.log10(Math.max(signal, Number.MIN_VALUE) / noise),
  };
}

function accuracy(
  spec: BenchSpec,
  prepared: PreparedFidelity,
  mine: Float32Array,
  ref: Float32Array | undefined,
  stride: number,
  per: number[],
  outputs: { shape: number[] }[],
): FidelityAccuracy {
  const labels = prepared.labels!;
  const j = spec.output?.index ?? 0;
  if (j >= outputs.length) throw new FidelityError('bad_spec', `output index ${j} out of range: the model has ${outputs.length} output(s)`);
  const classes = classesOf(outputs[j].shape);
  if (per[j] !== classes) {
    throw new FidelityError('bad_spec', `accuracy needs one row of class scores per sample; output ${j} has shape [${outputs[j].shape.join(', ')}]`);
  }
  let maxLabel = 0;
  for (const l of labels) maxLabel = Math.max(maxLabel, l);
  if (maxLabel >= classes) {
    throw new FidelityError('bad_spec', `eval set label ${maxLabel} is out of range: output ${j} has ${classes} classes (labels must be 0..${classes - 1})`);
  }
  const k5 = Math.min(5, classes);
  const off = offsetOf(per, j);
  const score = (data: Float32Array) => {
    let top1 = 0;
    let top5 = 0;
    const correct: boolean[] = [];
    for (let e = 0; e < labels.length; e++) {
      const base = (prepared.seeded + e) * stride + off;
      const t = topK(data.subarray(base, base + classes), k5);
      correct.push(t[0] === labels[e]);
      if (t[0] === labels[e]) top1++;
      if (t.includes(labels[e])) top5++;
    }
    const n = labels.length;
    return { top1Correct: top1, top5Correct: top5, top1Pct: (100 * top1) / n, top5Pct: (100 * top5) / n, correct };
  };
  const m = score(mine);
  const out: FidelityAccuracy = { output: j, samples: labels.length, top1Correct: m.top1Correct, top5Correct: m.top5Correct, top1Pct: m.top1Pct, top5Pct: m.top5Pct };
  if (ref) {
    const r = score(ref);
    out.reference = { top1Correct: r.top1Correct, top5Correct: r.top5Correct, top1Pct: r.top1Pct, top5Pct: r.top5Pct };
    out.dropPct = r.top1Pct - m.top1Pct;
    let referenceOnly = 0;
    let modelOnly = 0;
    r.correct.forEach((rc, e) => {
      if (rc && !m.correct[e]) referenceOnly++;
      if (!rc && m.correct[e]) modelOnly++;
    });
    out.discordant = { referenceOnly, modelOnly };
  }
  return out;
}
