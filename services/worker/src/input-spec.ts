import { open } from 'node:fs/promises';
import type { ArtifactFormat, BenchInputSpec, InputDtype } from '@pocketbench/contracts';

/** Input used when the model does not describe its own (`.ptl` is positional and untyped). */
export const DEFAULT_IMAGE_INPUT: BenchInputSpec = { name: 'input', shape: [1, 3, 224, 224], dtype: 'float32' };

/** ONNX TensorProto.DataType codes the harness can generate. */
const ONNX_DTYPES: Record<number, InputDtype> = { 1: 'float32', 2: 'uint8', 6: 'int32', 7: 'int64' };

/** Minimal protobuf reader: enough to walk ModelProto → GraphProto → ValueInfoProto. */
class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length, start = 0) {
    this.pos = start;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }
  /** Yields [field number, wire type, start, end] of each field, skipping over its payload. */
  *fields(): Generator<[number, number, number, number]> {
    while (this.pos < this.end) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      let start = this.pos;
      if (wire === 0) this.varint();
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else if (wire === 2) {
        const len = this.varint();
        start = this.pos;
        this.pos += len;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
      if (this.pos > this.end) throw new Error('truncated protobuf field');
      yield [field, wire, start, this.pos];
    }
  }
}

function sub(buf: Uint8Array, start: number, end: number): ProtoReader {
  return new ProtoReader(buf, end, start);
}

/**
 * The graph inputs of an ONNX model (initializers excluded), with symbolic dimensions set to 1,
 * read from the protobuf without loading the model.
 */
export function onnxInputs(model: Uint8Array): BenchInputSpec[] {
  const dec = new TextDecoder();
  const top = new ProtoReader(model);
  for (const [field, wire, start, end] of top.fields()) {
    if (field !== 7 || wire !== 2) continue;
    const inputs: { name: string; shape: number[]; dtype?: InputDtype }[] = [];
    const initializers = new Set<string>();
    for (const [gf, gw, gs, ge] of sub(model, start, end).fields()) {
      if (gw !== 2) continue;
      if (gf === 5) {
        for (const [tf, tw, ts, te] of sub(model, gs, ge).fields()) if (tf === 8 && tw === 2) initializers.add(dec.decode(model.subarray(ts, te)));
      } else if (gf === 11) {
        let name = '';
        let dtype: InputDtype | undefined;
        const shape: number[] = [];
        for (const [vf, vw, vs, ve] of sub(model, gs, ge).fields()) {
          if (vf === 1 && vw === 2) name = dec.decode(model.subarray(vs, ve));
          if (vf !== 2 || vw !== 2) continue;
          for (const [tf, tw, ts, te] of sub(model, vs, ve).fields()) {
            if (tf !== 1 || tw !== 2) continue;
            for (const [xf, xw, xs, xe] of sub(model, ts, te).fields()) {
              if (xf === 1 && xw === 0) dtype = ONNX_DTYPES[sub(model, xs, xe).varint()];
              if (xf !== 2 || xw !== 2) continue;
              for (const [df, dw, ds, de] of sub(model, xs, xe).fields()) {
                if (df !== 1 || dw !== 2) continue;
                let value = 1;
                for (const [f, w, s, e] of sub(model, ds, de).fields()) if (f === 1 && w === 0) value = sub(model, s, e).varint() || 1;
                shape.push(value);
              }
            }
          }
        }
        inputs.push({ name, shape, dtype });
      }
    }
    return inputs
      .filter((i) => !initializers.has(i.name))
      .map((i) => {
        if (!i.dtype) throw new Error(`ONNX input "${i.name}" has an element type the harness cannot generate`);
        return { name: i.name, shape: i.shape.length ? i.shape : [1], dtype: i.dtype };
      });
  }
  throw new Error('the ONNX model has no graph');
}

/** Inputs for a session: the run's own when given, else read from the model, else the default image input. */
export async function inputsForArtifact(
  file: string,
  format: ArtifactFormat,
  given?: BenchInputSpec[],
): Promise<BenchInputSpec[]> {
  if (given?.length) return given;
  if (format !== 'onnx') return [DEFAULT_IMAGE_INPUT];
  const fh = await open(file, 'r');
  try {
    const bytes = new Uint8Array(await fh.readFile());
    const inputs = onnxInputs(bytes);
    return inputs.length ? inputs : [DEFAULT_IMAGE_INPUT];
  } finally {
    await fh.close();
  }
}
