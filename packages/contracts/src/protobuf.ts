import type { ByteSource } from './byte-source.js';

/** A protobuf message that does not parse: the message names the byte where its structure breaks. */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

/** One field of a protobuf message. */
export interface ProtoField {
  number: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (groups, 3 and 4, are refused). */
  wireType: 0 | 1 | 2 | 5;
  /** The value of a varint field (exact up to 2^53). */
  value?: number;
  /** The payload's byte range (the bytes of a length-delimited field, the value of the others). */
  start: number;
  end: number;
}

function varint(src: ByteSource, pos: number, limit: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= limit) throw new ProtobufError(`protobuf varint at byte ${pos} runs past the end (byte ${limit})`);
    const b = src.read(pos + i, 1)[0];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new ProtobufError(`protobuf varint at byte ${pos} is longer than 10 bytes`);
}

/**
 * The fields of the message in [start, end), each checked to lie inside it, without reading the
 * payloads (walk a sub-message by calling this on its range). The one protobuf reader of the
 * repo, under the ONNX reader (onnx.ts).
 */
export function* protoFields(src: ByteSource, start = 0, end = src.size): Generator<ProtoField> {
  let pos = start;
  while (pos < end) {
    const tag = varint(src, pos, end);
    const number = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (number === 0) throw new ProtobufError(`protobuf field number 0 at byte ${pos}`);
    const at = pos;
    pos = tag.next;
    if (wireType === 0) {
      const v = varint(src, pos, end);
      yield { number, wireType, value: v.value, start: pos, end: v.next };
      pos = v.next;
    } else if (wireType === 1 || wireType === 5) {
      const len = wireType === 1 ? 8 : 4;
      if (pos + len > end) throw new ProtobufError(`protobuf field ${number} at byte ${at} needs ${len} bytes, ${end - pos} remain`);
      yield { number, wireType, start: pos, end: pos + len };
      pos += len;
    } else if (wireType === 2) {
      const len = varint(src, pos, end);
      if (len.next + len.value > end) {
        throw new ProtobufError(`protobuf field ${number} at byte ${at} claims ${len.value} bytes but only ${end - len.next} remain`);
      }
      yield { number, wireType, start: len.next, end: len.next + len.value };
      pos = len.next + len.value;
    } else {
      throw new ProtobufError(`protobuf field ${number} at byte ${at} has invalid wire type ${wireType}`);
    }
  }
}

/** A length-delimited field as UTF-8 text, at most `maxBytes` of it. */
export function protoString(src: ByteSource, f: ProtoField, maxBytes = Infinity): string {
  return new TextDecoder().decode(src.read(f.start, Math.min(f.end - f.start, maxBytes)));
}
