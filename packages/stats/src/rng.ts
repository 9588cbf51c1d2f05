/** A seeded uniform [0, 1) generator: the same seed always gives the same stream. */
export type Rng = () => number;

/** mulberry32: tiny, fast, and good enough for resampling (not for cryptography). */
export function createRng(seed: number | string = 0x5eed): Rng {
  let s = typeof seed === 'string' ? hashString(seed) : seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to turn a text seed (a run id, a cell key) into a 32-bit seed. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seed option (number or text) as a 32-bit number. */
export function seedNumber(seed: number | string | undefined, fallback = 0x5eed): number {
  if (seed === undefined) return fallback;
  return typeof seed === 'string' ? hashString(seed) : seed >>> 0;
}
