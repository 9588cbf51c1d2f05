import { open } from 'node:fs/promises';
import {
  fileSource, looksLikeZip, OnnxError, readOnnxModel, readZipDirectory, ZipError, type ArtifactFormat, type ByteSource,
} from '@pocketbench/contracts';
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
    const bytes = fileSource(fh.fd, size);
    const head = Buffer.from(bytes.read(0, Math.min(size, 8)));
    if (looksLikeZip(bytes)) return detectZip(bytes);
    if (head.length >= 8 && head.subarray(4, 8).toString('latin1') === 'TFL3') return { format: 'tflite', details: {} };
    if (head.length >= 8 && /^ET\d\d$/.test(head.subarray(4, 8).toString('latin1'))) return { format: 'pte', details: {} };
    // ONNX exporters write ir_version (field 1, varint: tag 0x08) first.
    if (head[0] === 0x08) return detectOnnx(bytes);
    throw new ArtifactFormatError(415, 'unsupported_format', `the file is not a model format pocketbench knows; ${EXPECTED}`);
  } finally {
    await fh.close();
  }
}

function detectOnnx(bytes: ByteSource): DetectedFormat {
  try {
    const { irVersion, producer, opsets, nodes, initializers } = readOnnxModel(bytes);
    return { format: 'onnx', details: { irVersion, producer, opsets, nodes, initializers } };
  } catch (err) {
    if (!(err instanceof OnnxError)) throw err;
    throw new ArtifactFormatError(
      422,
      'invalid_onnx',
      `the file starts like an ONNX model but is not a valid ModelProto (truncated or corrupt): ${err.message}`,
    );
  }
}

function detectZip(bytes: ByteSource): DetectedFormat {
  let names: string[];
  try {
    names = readZipDirectory(bytes).map((e) => e.name);
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    throw new ArtifactFormatError(422, 'invalid_archive', `the file starts like a zip archive but is truncated or corrupt: ${err.message}`);
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
