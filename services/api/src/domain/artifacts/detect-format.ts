import { open, type FileHandle } from 'node:fs/promises';
import type { ArtifactFormat } from '@pocketbench/contracts';
import { ApiError } from '../../errors.js';

/** Why an upload was refused: 415 when it is no model format we know, 422 when it is a broken one. */
export class ArtifactFormatError extends ApiError {
  constructor(
    override readonly status: 415 | 422,
    code: string,
    message: string,
  ) {
    super(status, code, message, { field: 'file' });
    this.name = 'ArtifactFormatError';
  }
}

export interface DetectedFormat {
  format: ArtifactFormat;
  /** Facts read while checking the structure (ONNX ir_version/opsets/producer, archive entries). */
  details: Record<string, unknown>;
}

const EXPECTED =
  'expected an ONNX model (a ModelProto protobuf), a PyTorch lite-interpreter archive (.ptl: a zip holding bytecode.pkl) ' +
  'or a TorchScript model to convert (.pt from torch.jit.save)';

/** Random access over a file with a small read-through window (models can be hundreds of MB). */
class FileBytes {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async read(pos: number, length: number): Promise<Buffer> {
    if (pos < 0 || pos + length > this.size) throw new RangeError(`read past end at ${pos}+${length}`);
    if (pos < this.windowStart || pos + length > this.windowStart + this.window.length) {
      const len = Math.min(Math.max(length, 64 * 1024), this.size - pos);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await this.fh.read(buf, 0, len, pos);
      this.window = buf.subarray(0, bytesRead);
      this.windowStart = pos;
    }
    return this.window.subarray(pos - this.windowStart, pos - this.windowStart + length);
  }
}

/**
 * Reads the format from the bytes, never from the file name: ONNX is checked as a ModelProto
 * (every top-level field well-formed to the last byte, ir_version, graph with outputs,
 * opset_import); a zip is read through its central directory and is a `.ptl` when it holds
 * the lite interpreter's bytecode.pkl, a TorchScript `.pt` (format `pt`, the parent variants are
 * converted from) when it holds code/ without bytecode. TFLite and ExecuTorch files are recognised by their
 * FlatBuffer identifiers.
 */
export async function detectArtifactFormat(filePath: string): Promise<DetectedFormat> {
  const fh = await open(filePath, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw new ArtifactFormatError(422, 'empty_artifact', `the uploaded file is empty (0 bytes); ${EXPECTED}`);
    const bytes = new FileBytes(fh, size);
    const head = await bytes.read(0, Math.min(size, 8));
    if (head.length >= 4 && head.readUInt32BE(0) === 0x504b0304) return await detectZip(bytes);
    if (head.length >= 8 && head.subarray(4, 8).toString('latin1') === 'TFL3') return { format: 'tflite', details: {} };
    if (head.length >= 8 && /^ET\d\d$/.test(head.subarray(4, 8).toString('latin1'))) return { format: 'pte', details: {} };
    // ONNX exporters write ir_version (field 1, varint: tag 0x08) first.
    if (head[0] === 0x08) return await detectOnnx(bytes);
    throw new ArtifactFormatError(415, 'unsupported_format', `the file is not a model format pocketbench knows; ${EXPECTED}`);
  } finally {
    await fh.close();
  }
}

// ---- ONNX (protobuf) -------------------------------------------------------------------

interface Field {
  number: number;
  wireType: number;
  /** varint value (wire type 0) */
  value?: number;
  /** payload range (wire type 2) */
  start: number;
  end: number;
}

async function readVarint(bytes: FileBytes, pos: number, limit: number): Promise<{ value: number; next: number }> {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= limit) throw new Error(`varint at byte ${pos} runs past the end`);
    const b = (await bytes.read(pos + i, 1))[0];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new Error(`varint at byte ${pos} is longer than 10 bytes`);
}

/** Walks the fields in [start, end); throws naming the byte where the structure breaks. */
async function readFields(bytes: FileBytes, start: number, end: number, onField: (f: Field) => void | Promise<void>) {
  let pos = start;
  while (pos < end) {
    const tag = await readVarint(bytes, pos, end);
    const number = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (number === 0) throw new Error(`field number 0 at byte ${pos}`);
    pos = tag.next;
    switch (wireType) {
      case 0: {
        const v = await readVarint(bytes, pos, end);
        await onField({ number, wireType, value: v.value, start: pos, end: v.next });
        pos = v.next;
        break;
      }
      case 1:
      case 5: {
        const len = wireType === 1 ? 8 : 4;
        if (pos + len > end) throw new Error(`field ${number} at byte ${pos} needs ${len} bytes, ${end - pos} remain`);
        await onField({ number, wireType, start: pos, end: pos + len });
        pos += len;
        break;
      }
      case 2: {
        const len = await readVarint(bytes, pos, end);
        if (len.next + len.value > end) {
          throw new Error(`field ${number} at byte ${pos} claims ${len.value} bytes but only ${end - len.next} remain`);
        }
        await onField({ number, wireType, start: len.next, end: len.next + len.value });
        pos = len.next + len.value;
        break;
      }
      default:
        throw new Error(`field ${number} at byte ${pos} has invalid wire type ${wireType}`);
    }
  }
}

/** ModelProto field numbers → the wire type each must have. */
const MODEL_FIELDS: Record<number, { name: string; wireType: number }> = {
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
const GRAPH_FIELDS: Record<number, { name: string; wireType: number }> = {
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

function checkWireType(table: Record<number, { name: string; wireType: number }>, owner: string, f: Field) {
  const known = table[f.number];
  if (known && known.wireType !== f.wireType) {
    throw new Error(`${owner}.${known.name} (field ${f.number}) has wire type ${f.wireType}, expected ${known.wireType}`);
  }
}

async function detectOnnx(bytes: FileBytes): Promise<DetectedFormat> {
  let irVersion: number | undefined;
  let producer: string | undefined;
  let graph: Field | undefined;
  const opsets: { domain: string; version: number }[] = [];
  const opsetFields: Field[] = [];
  try {
    await readFields(bytes, 0, bytes.size, async (f) => {
      checkWireType(MODEL_FIELDS, 'ModelProto', f);
      if (f.number === 1) irVersion = f.value;
      else if (f.number === 2) producer = (await bytes.read(f.start, Math.min(f.end - f.start, 200))).toString('utf8');
      else if (f.number === 7) graph = f;
      else if (f.number === 8) opsetFields.push(f);
    });
    if (irVersion === undefined || irVersion < 1 || irVersion > 100) {
      throw new Error(`ir_version is ${irVersion ?? 'missing'}, expected a small positive number`);
    }
    if (!graph) throw new Error('ModelProto has no graph (field 7)');
    if (opsetFields.length === 0) throw new Error('ModelProto has no opset_import (field 8)');
    for (const o of opsetFields) {
      let domain = '';
      let version = 0;
      await readFields(bytes, o.start, o.end, async (f) => {
        if (f.number === 1 && f.wireType === 2) domain = (await bytes.read(f.start, f.end - f.start)).toString('utf8');
        else if (f.number === 2 && f.wireType === 0) version = f.value ?? 0;
      });
      opsets.push({ domain: domain || 'ai.onnx', version });
    }
    let nodes = 0;
    let outputs = 0;
    let initializers = 0;
    await readFields(bytes, graph.start, graph.end, (f) => {
      checkWireType(GRAPH_FIELDS, 'GraphProto', f);
      if (f.number === 1) nodes++;
      else if (f.number === 12) outputs++;
      else if (f.number === 5) initializers++;
    });
    if (outputs === 0) throw new Error('the graph declares no outputs');
    return { format: 'onnx', details: { irVersion, producer, opsets, nodes, initializers } };
  } catch (err) {
    if (err instanceof ArtifactFormatError) throw err;
    throw new ArtifactFormatError(
      422,
      'invalid_onnx',
      `the file starts like an ONNX model but is not a valid ModelProto (truncated or corrupt): ${(err as Error).message}`,
    );
  }
}

// ---- zip (PyTorch archives) ------------------------------------------------------------

async function detectZip(bytes: FileBytes): Promise<DetectedFormat> {
  const broken = (why: string) =>
    new ArtifactFormatError(422, 'invalid_archive', `the file starts like a zip archive but is truncated or corrupt: ${why}`);
  // The end-of-central-directory record sits in the last 22..65557 bytes.
  const tailLen = Math.min(bytes.size, 22 + 0xffff);
  const tailStart = bytes.size - tailLen;
  const tail = Buffer.from(await bytes.read(tailStart, tailLen));
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw broken('no end-of-central-directory record');
  const eocdPos = tailStart + eocd;
  let entries = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  let cdLimit = eocdPos;
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff || entries === 0xffff) {
    // ZIP64: the locator just before the EOCD points at the zip64 EOCD record.
    if (eocdPos < 20) throw broken('zip64 locator missing');
    const loc = await bytes.read(eocdPos - 20, 20);
    if (loc.readUInt32LE(0) !== 0x07064b50) throw broken('zip64 locator missing');
    const z64 = Number(loc.readBigUInt64LE(8));
    if (z64 + 56 > bytes.size) throw broken('zip64 end record out of range');
    const rec = await bytes.read(z64, 56);
    if (rec.readUInt32LE(0) !== 0x06064b50) throw broken('zip64 end record signature wrong');
    entries = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
    cdLimit = z64;
  }
  if (cdOffset + cdSize > cdLimit) throw broken(`central directory (${cdOffset}+${cdSize}) overlaps its end record at ${cdLimit}`);
  if (cdSize > 64 * 1024 * 1024) throw broken('central directory larger than 64 MB');
  const cd = Buffer.from(await bytes.read(cdOffset, cdSize));
  const names: string[] = [];
  let p = 0;
  for (let i = 0; i < entries; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw broken(`central directory entry ${i} is malformed`);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen > cd.length) throw broken(`central directory entry ${i} is malformed`);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    if (localOffset !== 0xffffffff && localOffset >= cdOffset) throw broken(`entry ${name} points past the data`);
    names.push(name);
    p += 46 + nameLen + extraLen + commentLen;
  }
  const dataPkl = names.find((n) => /(^|\/)data\.pkl$/.test(n));
  if (!dataPkl) {
    throw new ArtifactFormatError(
      415,
      'unsupported_format',
      `the file is a zip archive but not a PyTorch model (it has no data.pkl); ${EXPECTED}`,
    );
  }
  const bytecode = names.find((n) => /(^|\/)bytecode\.pkl$/.test(n));
  if (!bytecode) {
    // A full TorchScript model (torch.jit.save) holds its code; a torch.save pickle does not.
    if (names.some((n) => /^[^/]+\/code\//.test(n))) {
      return { format: 'pt', details: { entries: names.length, archive: dataPkl.split('/')[0], torchscript: true } };
    }
    throw new ArtifactFormatError(
      422,
      'not_torchscript',
      'the file is a PyTorch pickle (torch.save), not TorchScript: it has no code/ and no bytecode.pkl. Save the model with ' +
        'torch.jit.save(torch.jit.trace(model, example), "model.pt") to have variants made from it, or ' +
        'optimize_for_mobile(...)._save_for_lite_interpreter("model.ptl") to run it as it is',
    );
  }
  return { format: 'ptl', details: { entries: names.length, archive: dataPkl.split('/')[0] } };
}
