import type { BenchInputSpec, InputDtype } from './bench-spec.js';
import type { ByteSource } from './byte-source.js';
import { ProtobufError, protoFields, protoString, type ProtoField } from './protobuf.js';

/** An ONNX model that is not a well-formed ModelProto; the message names the field or byte. */
export class OnnxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxError';
  }
}

/** One graph input as the model declares it. */
export interface OnnxGraphInput {
  name: string;
  /** TensorProto.DataType code, undefined when not a tensor. */
  elemType?: number;
  /** Each dimension: its value, or null when symbolic or unset. */
  dims: (number | null)[];
}

/** What reading an ONNX model's structure finds (no weights are read). */
export interface OnnxModelInfo {
  irVersion: number;
  producer?: string;
  opsets: { domain: string; version: number }[];
  nodes: number;
  initializers: number;
  /** Graph inputs, initializers excluded. */
  inputs: OnnxGraphInput[];
}

type FieldTable = Record<number, { name: string; wireType: number }>;

/** ModelProto field numbers → the wire type each must have. */
const MODEL_FIELDS: FieldTable = {
  1: { name: 'ir_version', wireType: 0 },
  2: { name: 'producer_name', wireType: 2 },
  3: { name: 'producer_version', wireType: 2 },
  4: { name: 'domain', wireType: 2 },
  5: { name: 'model_version', wireType: 0 },
  6: { name: 'doc_string', wireType: 2 },
  7: { name: 'graph', wireType: 2 },
  8: { name: 'opset_import', wireType: 2 },
  14: { name: 'metadata_props', wireType: 2 },
  20: { name: 'training_info', wireType: 2 },
  25: { name: 'functions', wireType: 2 },
};
const GRAPH_FIELDS: FieldTable = {
  1: { name: 'node', wireType: 2 },
  2: { name: 'name', wireType: 2 },
  5: { name: 'initializer', wireType: 2 },
  10: { name: 'doc_string', wireType: 2 },
  11: { name: 'input', wireType: 2 },
  12: { name: 'output', wireType: 2 },
  13: { name: 'value_info', wireType: 2 },
  14: { name: 'quantization_annotation', wireType: 2 },
  15: { name: 'sparse_initializer', wireType: 2 },
};

function checked(table: FieldTable, owner: string, f: ProtoField): ProtoField {
  const known = table[f.number];
  if (known && known.wireType !== f.wireType) {
    throw new OnnxError(`${owner}.${known.name} (field ${f.number}) has wire type ${f.wireType}, expected ${known.wireType}`);
  }
  return f;
}

/** ValueInfoProto → name, element type and dims (TypeProto.tensor_type → TensorShapeProto.dim). */
function valueInfo(src: ByteSource, vi: ProtoField): OnnxGraphInput {
  const input: OnnxGraphInput = { name: '', dims: [] };
  for (const f of protoFields(src, vi.start, vi.end)) {
    if (f.number === 1 && f.wireType === 2) input.name = protoString(src, f);
    if (f.number !== 2 || f.wireType !== 2) continue;
    for (const t of protoFields(src, f.start, f.end)) {
      if (t.number !== 1 || t.wireType !== 2) continue;
      for (const x of protoFields(src, t.start, t.end)) {
        if (x.number === 1 && x.wireType === 0) input.elemType = x.value;
        if (x.number !== 2 || x.wireType !== 2) continue;
        for (const d of protoFields(src, x.start, x.end)) {
          if (d.number !== 1 || d.wireType !== 2) continue;
          let value: number | null = null;
          for (const v of protoFields(src, d.start, d.end)) if (v.number === 1 && v.wireType === 0) value = v.value ?? null;
          input.dims.push(value);
        }
      }
    }
  }
  return input;
}

/**
 * Reads an ONNX model's structure from its protobuf without loading it: every top-level field
 * well-formed to the last byte, ir_version, a graph that declares outputs, opset_import; and
 * the graph's inputs. Used by the api (upload check) and the worker (inputs of a session).
 * Throws OnnxError naming what is wrong.
 */
export function readOnnxModel(src: ByteSource): OnnxModelInfo {
  try {
    let irVersion: number | undefined;
    let producer: string | undefined;
    let graph: ProtoField | undefined;
    const opsetFields: ProtoField[] = [];
    for (const f of protoFields(src)) {
      checked(MODEL_FIELDS, 'ModelProto', f);
      if (f.number === 1) irVersion = f.value;
      else if (f.number === 2) producer = protoString(src, f, 200);
      else if (f.number === 7) graph = f;
      else if (f.number === 8) opsetFields.push(f);
    }
    if (irVersion === undefined || irVersion < 1 || irVersion > 100) {
      throw new OnnxError(`ir_version is ${irVersion ?? 'missing'}, expected a small positive number`);
    }
    if (!graph) throw new OnnxError('ModelProto has no graph (field 7)');
    if (opsetFields.length === 0) throw new OnnxError('ModelProto has no opset_import (field 8)');
    const opsets = opsetFields.map((o) => {
      let domain = '';
      let version = 0;
      for (const f of protoFields(src, o.start, o.end)) {
        if (f.number === 1 && f.wireType === 2) domain = protoString(src, f);
        else if (f.number === 2 && f.wireType === 0) version = f.value ?? 0;
      }
      return { domain: domain || 'ai.onnx', version };
    });
    const g = readGraph(src, graph);
    if (g.outputs === 0) throw new OnnxError('the graph declares no outputs');
    return { irVersion, producer, opsets, nodes: g.nodes, initializers: g.initializers, inputs: g.inputs };
  } catch (err) {
    throw asOnnxError(err);
  }
}

function asOnnxError(err: unknown): unknown {
  return err instanceof ProtobufError || err instanceof RangeError ? new OnnxError(err.message) : err;
}

/** A GraphProto's counts and its inputs, initializers excluded. */
function readGraph(src: ByteSource, graph: ProtoField): { nodes: number; outputs: number; initializers: number; inputs: OnnxGraphInput[] } {
  let nodes = 0;
  let outputs = 0;
  const inputs: OnnxGraphInput[] = [];
  const initializers = new Set<string>();
  let initializerCount = 0;
  for (const f of protoFields(src, graph.start, graph.end)) {
    checked(GRAPH_FIELDS, 'GraphProto', f);
    if (f.number === 1) nodes++;
    else if (f.number === 12) outputs++;
    else if (f.number === 11) inputs.push(valueInfo(src, f));
    else if (f.number === 5) {
      initializerCount++;
      // TensorProto.name is field 8; the weights themselves are skipped unread.
      for (const t of protoFields(src, f.start, f.end)) if (t.number === 8 && t.wireType === 2) initializers.add(protoString(src, t));
    }
  }
  return { nodes, outputs, initializers: initializerCount, inputs: inputs.filter((i) => !initializers.has(i.name)) };
}

/** ONNX TensorProto.DataType codes the harness can generate. */
const ONNX_DTYPES: Record<number, InputDtype> = { 1: 'float32', 2: 'uint8', 6: 'int32', 7: 'int64' };

/**
 * The inputs a session feeds an ONNX model: its graph inputs, with symbolic (or zero)
 * dimensions set to 1. Throws OnnxError for an input whose element type the harness cannot generate.
 */
export function onnxInputs(src: ByteSource): BenchInputSpec[] {
  let inputs: OnnxGraphInput[] | undefined;
  try {
    // Only the graph's inputs: the model was checked as a whole when it was uploaded (readOnnxModel).
    for (const f of protoFields(src)) if (f.number === 7 && f.wireType === 2) inputs = readGraph(src, f).inputs;
  } catch (err) {
    throw asOnnxError(err);
  }
  if (!inputs) throw new OnnxError('the ONNX model has no graph (field 7)');
  return inputs.map((i) => {
    const dtype = i.elemType === undefined ? undefined : ONNX_DTYPES[i.elemType];
    if (!dtype) throw new OnnxError(`ONNX input "${i.name}" has an element type the harness cannot generate (TensorProto.DataType ${i.elemType ?? 'none'})`);
    return { name: i.name, shape: i.dims.length ? i.dims.map((d) => d || 1) : [1], dtype };
  });
}
