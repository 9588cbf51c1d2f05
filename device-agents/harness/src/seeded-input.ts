import { createHash } from 'node:crypto';
import type { BenchInputSpec } from '@pocketbench/contracts';

/**
 * mulberry32: a 32-bit PRNG small enough to re-implement identically in any harness
 * (Kotlin, Swift, C); the README gives the reference C version.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function elementCount(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** The bytes of one generated input (row-major, little-endian): input i uses seed + i. */
export function generateInput(input: BenchInputSpec, seed: number): Buffer {
  const next = mulberry32(seed);
  const n = elementCount(input.shape);
  const isFloat = input.dtype === 'float32';
  const low = input.distribution?.low ?? 0;
  const high = input.distribution?.high ?? (isFloat ? 1 : 256);
  const span = high - low;
  const u = () => next() / 4294967296;
  switch (input.dtype) {
    case 'float32': {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = low + u() * span;
      return Buffer.from(a.buffer);
    }
    case 'int32': {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(low + u() * span);
      return Buffer.from(a.buffer);
    }
    case 'int64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(Math.floor(low + u() * span));
      return Buffer.from(a.buffer);
    }
    case 'uint8': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(low + u() * span);
      return Buffer.from(a.buffer);
    }
  }
}

export function sha256Tag(...parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
}
