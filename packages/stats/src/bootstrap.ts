import { orderStatisticTable } from './order-statistic.js';
import { quantileSorted, sortedCopy } from './summary.js';

/** Resolution of each session's inverse-CDF grid (a power of two: the low bits of one uniform index it). */
const GRID_BITS = 9;
const GRID = 1 << GRID_BITS;
const GRID_MASK = GRID - 1;
const PICK_SCALE = 1 / 2 ** (32 - GRID_BITS);

/**
 * One side (head or baseline) ready for resampling. Each session becomes a grid of GRID
 * values: the inverse CDF of "the q-quantile of a resample of this session's iterations"
 * (its exact order-statistic distribution, see order-statistic.ts) at the grid's midpoints.
 * A draw is then one uniform and one load, without branches: this loop is the cost of a gate.
 */
export interface PreparedSide {
  sessions: number;
  /** sessions × GRID values, session s at [s·GRID, (s+1)·GRID). */
  grid: Float64Array;
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
  const grid = new Float64Array(k * GRID);
  const sessionValues = new Float64Array(k);
  for (let s = 0; s < k; s++) {
    if (sessions[s].length === 0) throw new RangeError(`session ${s} has no values`);
    const sorted = sortedCopy(sessions[s]);
    if (!Number.isFinite(sorted[0]) || !Number.isFinite(sorted[sorted.length - 1])) {
      throw new RangeError(`session ${s} has a non-finite value`);
    }
    sessionValues[s] = quantileSorted(sorted, q);
    const { start, cdf } = orderStatisticTable(sorted.length, q);
    let j = 0;
    for (let g = 0; g < GRID; g++) {
      const u = (g + 0.5) / GRID;
      while (j < cdf.length - 1 && cdf[j] < u) j++;
      grid[s * GRID + g] = sorted[start + j];
    }
  }
  const estimate = quantileSorted(sortedCopy(sessionValues), 0.5);
  return { sessions: k, grid, sessionValues, estimate, scratch: new Float64Array(k) };
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
 * One 32-bit uniform serves both draws: its high bits pick the session, its low bits the grid entry.
 * The generator is mulberry32 (as createRng), inlined: this loop is the whole cost of a gate.
 */
export function drawReplicate(side: PreparedSide, state: ResampleState): number {
  const k = side.sessions;
  const tmp = side.scratch;
  const grid = side.grid;
  let st = state.s;
  for (let s = 0; s < k; s++) {
    st = (st + 0x6d2b79f5) | 0;
    let t = Math.imul(st ^ (st >>> 15), st | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = (t ^ (t >>> 14)) >>> 0;
    const pick = Math.floor((u >>> GRID_BITS) * k * PICK_SCALE);
    tmp[s] = grid[pick * GRID + (u & GRID_MASK)];
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
