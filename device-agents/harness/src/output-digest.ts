import { sha256Tag } from './seeded-input.js';

/** Indices of the k largest values, largest first; NaN ranks last, ties by lower index. */
export function topKIndices(values: Float32Array, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(values[i]) ? -Infinity : values[i]);
  idx.sort((a, b) => key(b) - key(a) || a - b);
  return idx.slice(0, Math.min(k, values.length));
}

/** Digest and top-k of an output already converted to little-endian float32 bytes. */
export function describeOutput(bytes: Buffer, topK: number): { digest: string; topK: number[] } {
  const copy = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { digest: sha256Tag(bytes), topK: topKIndices(copy, topK) };
}
