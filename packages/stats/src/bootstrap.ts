import { orderStatisticTable } from './order-statistic.js';
import { quantileSorted, sortedCopy } from './summary.js';

/**
 * One side (head or baseline) ready for resampling, flattened for speed: per session only the
 * order statistics a resampled quantile can land on, with a Walker alias table over them.
 */
export interface PreparedSide {
  sessions: number;
  /** Per session: offset (in entries) into `packed`, and how many entries it has. */
  offset: Int32Array;
  length: Int32Array;
  /** Per entry, adjacent for cache locality: alias threshold, its value, its alias's value. */
  packed: Float64Array;
  /** The session-level statistic of each session (its q-quantile). */
  sessionValues: Float64Array;
  /** Median across sessions of sessionValues: the point estimate. */
  estimate: number;
  scratch: Float64Array;
}

/**
 * Prepares sessions for the hierarchical bootstrap of "median across sessions of each
 * session's q-quantile". A session with one value (load time, peak RSS) is resampled at the
 * session level only.
 */
export function prepareSide(sessions: ArrayLike<number>[], q = 0.5): PreparedSide {
  const k = sessions.length;
  if (k === 0) throw new RangeError('at least one session is needed');
  const sorted = sessions.map((s, i) => {
    if (s.length === 0) throw new RangeError(`session ${i} has no values`);
    const a = sortedCopy(s);
    if (!Number.isFinite(a[0]) || !Number.isFinite(a[a.length - 1])) throw new RangeError(`session ${i} has a non-finite value`);
    return a;
  });
  const tables = sorted.map((a) => orderStatisticTable(a.length, q));
  const offset = new Int32Array(k);
  const length = new Int32Array(k);
  let total = 0;
  for (let s = 0; s < k; s++) {
    offset[s] = total;
    length[s] = tables[s].cdf.length;
    total += length[s];
  }
  const packed = new Float64Array(total * 3);
  for (let s = 0; s < k; s++) {
    const { start, cdf } = tables[s];
    const L = cdf.length;
    const prob = new Float64Array(L);
    const alias = new Int32Array(L);
    buildAlias(cdf, prob, alias, 0);
    for (let i = 0; i < L; i++) {
      const at = (offset[s] + i) * 3;
      packed[at] = prob[i];
      packed[at + 1] = sorted[s][start + i];
      packed[at + 2] = sorted[s][start + alias[i]];
    }
  }
  const sessionValues = Float64Array.from(sorted, (a) => quantileSorted(a, q));
  const estimate = quantileSorted(sortedCopy(sessionValues), 0.5);
  return { sessions: k, offset, length, packed, sessionValues, estimate, scratch: new Float64Array(k) };
}

/** Vose's alias method over the probabilities implied by a cdf, written at `at`. */
function buildAlias(cdf: Float64Array, prob: Float64Array, alias: Int32Array, at: number): void {
  const L = cdf.length;
  const scaled = new Float64Array(L);
  for (let i = 0; i < L; i++) scaled[i] = (cdf[i] - (i > 0 ? cdf[i - 1] : 0)) * L;
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < L; i++) (scaled[i] < 1 ? small : large).push(i);
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[at + s] = scaled[s];
    alias[at + s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) {
    prob[at + i] = 1;
    alias[at + i] = i;
  }
}

/** State of the resampler's mulberry32 stream, kept in one field so the hot loop can inline it. */
export interface ResampleState {
  s: number;
}

export function resampleState(seed: number): ResampleState {
  return { s: seed >>> 0 };
}

/**
 * One bootstrap replicate: resample sessions, then iterations within each (exactly, through
 * the order-statistic tables), and return the median of the resampled session statistics.
 * One uniform serves both draws: its integer part picks the session, its fraction the entry.
 * The generator is mulberry32 (as createRng), inlined: this loop is the whole cost of a gate.
 */
export function drawReplicate(side: PreparedSide, state: ResampleState): number {
  const k = side.sessions;
  const tmp = side.scratch;
  const { offset, length, packed } = side;
  let st = state.s;
  for (let s = 0; s < k; s++) {
    st = (st + 0x6d2b79f5) | 0;
    let t = Math.imul(st ^ (st >>> 15), st | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * k;
    const pick = x | 0;
    const y = (x - pick) * length[pick];
    const i = y | 0;
    const at = (offset[pick] + i) * 3;
    tmp[s] = y - i < packed[at] ? packed[at + 1] : packed[at + 2];
  }
  state.s = st;
  return medianInPlace(tmp, k);
}

/** Median of the first k entries, reordering them (Hoare's selection; k is a handful of sessions). */
export function medianInPlace(a: Float64Array, k: number): number {
  const m = (k - 1) >> 1;
  let lo = 0;
  let hi = k - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (m <= j) hi = j;
    else if (m >= i) lo = i;
    else break;
  }
  const lower = a[m];
  if (k & 1) return lower;
  // Even count: the upper middle is the smallest entry right of the lower one.
  let upper = Infinity;
  for (let i = m + 1; i < k; i++) if (a[i] < upper) upper = a[i];
  return (lower + upper) / 2;
}
