import { incompleteBeta } from './special.js';
import { firstIndexAtLeast, orderStatisticTable } from './order-statistic.js';
import { quantileSorted, sortedCopy } from './summary.js';

/**
 * One side (head or baseline) ready for the hierarchical bootstrap of "median across sessions
 * of each session's q-quantile" (resample sessions, then iterations within each).
 *
 * A resampled session's q-quantile lands on its order statistics with exactly known
 * probabilities (order-statistic.ts). Picking a session uniformly and then one of those values
 * is a draw from the *pooled* distribution of all sessions' values, so one replicate is the
 * median of k independent draws from that pooled distribution — which is the pooled inverse
 * CDF at the median of k uniforms, itself drawn from a Beta table. A replicate therefore costs
 * one or two uniforms and binary searches, whatever k and n are.
 */
export interface PreparedSide {
  sessions: number;
  /** Pooled support of all sessions' resampled quantiles, ascending. */
  values: Float64Array;
  /** P(value <= values[i]); the last entry is 1. */
  cdf: Float64Array;
  /** Inverse CDF of the m-th smallest of k uniforms (the between-session median's rank). */
  rankTable: Float64Array;
  /** k even: the median averages the m-th and (m+1)-th draws. */
  even: boolean;
  /** 1 / (k - m), for the (m+1)-th draw given the m-th. */
  nextExponent: number;
  /** The session-level statistic of each session (its q-quantile). */
  sessionValues: Float64Array;
  /** Median across sessions of sessionValues: the point estimate. */
  estimate: number;
}

/** A session with one value (load time, peak RSS) is resampled at the session level only. */
export function prepareSide(sessions: ArrayLike<number>[], q = 0.5): PreparedSide {
  const k = sessions.length;
  if (k === 0) throw new RangeError('at least one session is needed');
  const sessionValues = new Float64Array(k);
  const supports: Float64Array[] = [];
  const cdfs: Float64Array[] = [];
  let total = 0;
  for (let s = 0; s < k; s++) {
    const raw = sessions[s];
    const n = raw.length;
    if (n === 0) throw new RangeError(`session ${s} has no values`);
    const { start, cdf } = orderStatisticTable(n, q);
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      if (!Number.isFinite(v)) throw new RangeError(`session ${s} has a non-finite value`);
      a[i] = v;
    }
    // Only the ranks a resampled quantile can land on need sorting: select that window, sort it.
    const end = start + cdf.length;
    if (start > 0) selectInPlace(a, start, 0, n - 1);
    if (end < n) selectInPlace(a, end - 1, start, n - 1);
    const window = a.subarray(start, end);
    window.sort();
    sessionValues[s] = quantileSorted(a, q);
    supports.push(window);
    cdfs.push(cdf);
    total += cdf.length;
  }
  const { values, cdf } = mergePooled(supports, cdfs, total);
  const m = k % 2 === 0 ? k / 2 : (k + 1) / 2;
  return {
    sessions: k,
    values,
    cdf,
    rankTable: rankTable(k, m),
    even: k % 2 === 0,
    nextExponent: k % 2 === 0 ? 1 / (k - m) : 0,
    sessionValues,
    estimate: quantileSorted(sortedCopy(sessionValues), 0.5),
  };
}

/**
 * Hoare selection: afterwards a[target] holds the value of that rank within [lo, hi], with
 * nothing larger before it and nothing smaller after it.
 */
function selectInPlace(a: Float64Array, target: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as the pivot.
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
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
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}

/** k-way merge of the sessions' sorted supports (each with its own CDF) into one ascending list with the pooled CDF. */
function mergePooled(supports: Float64Array[], cdfs: Float64Array[], total: number): { values: Float64Array; cdf: Float64Array } {
  const k = supports.length;
  const values = new Float64Array(total);
  const cdf = new Float64Array(total);
  const cursor = new Int32Array(k);
  // Binary min-heap of session indices keyed by their next value.
  const heap = new Int32Array(k);
  let size = 0;
  const key = (s: number) => supports[s][cursor[s]];
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < size && key(heap[l]) < key(heap[min])) min = l;
      if (r < size && key(heap[r]) < key(heap[min])) min = r;
      if (min === i) return;
      const t = heap[i];
      heap[i] = heap[min];
      heap[min] = t;
      i = min;
    }
  };
  for (let s = 0; s < k; s++) heap[size++] = s;
  for (let i = (size >> 1) - 1; i >= 0; i--) down(i);
  let acc = 0;
  for (let out = 0; out < total; out++) {
    const s = heap[0];
    const c = cursor[s];
    values[out] = supports[s][c];
    acc += (cdfs[s][c] - (c > 0 ? cdfs[s][c - 1] : 0)) / k;
    cdf[out] = acc;
    if (++cursor[s] === supports[s].length) heap[0] = heap[--size];
    down(0);
  }
  cdf[total - 1] = 1;
  return { values, cdf };
}

const RANK_GRID = 4096;
const CDF_GRID = 8192;
const rankCache = new Map<number, Float64Array>();

/**
 * Inverse CDF, on RANK_GRID evenly spaced probabilities, of the m-th smallest of k uniforms
 * (Beta(m, k-m+1)), from its CDF on a finer grid. Cached per k.
 */
function rankTable(k: number, m: number): Float64Array {
  const hit = rankCache.get(k);
  if (hit) return hit;
  const table = new Float64Array(RANK_GRID);
  if (k === 1) {
    for (let g = 0; g < RANK_GRID; g++) table[g] = g / (RANK_GRID - 1);
  } else {
    const F = new Float64Array(CDF_GRID);
    for (let i = 0; i < CDF_GRID; i++) F[i] = incompleteBeta(i / (CDF_GRID - 1), m, k - m + 1);
    F[CDF_GRID - 1] = 1;
    let i = 0;
    for (let g = 0; g < RANK_GRID; g++) {
      const p = g / (RANK_GRID - 1);
      while (i < CDF_GRID - 2 && F[i + 1] < p) i++;
      const span = F[i + 1] - F[i];
      const frac = span > 0 ? Math.min(1, Math.max(0, (p - F[i]) / span)) : 0;
      table[g] = (i + frac) / (CDF_GRID - 1);
    }
    table[0] = 0;
    table[RANK_GRID - 1] = 1;
  }
  if (rankCache.size > 1024) rankCache.clear();
  rankCache.set(k, table);
  return table;
}

/** State of the resampler's mulberry32 stream, kept in one field so the hot loop can inline it. */
export interface ResampleState {
  s: number;
}

export function resampleState(seed: number): ResampleState {
  return { s: seed >>> 0 };
}

function nextUniform(state: ResampleState): number {
  const st = (state.s = (state.s + 0x6d2b79f5) | 0);
  let t = Math.imul(st ^ (st >>> 15), st | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Smallest pooled value whose CDF reaches u. */
function pooledInverse(side: PreparedSide, u: number): number {
  return side.values[firstIndexAtLeast(side.cdf, u)];
}

/**
 * One bootstrap replicate of the side's statistic: the median of k sessions resampled with
 * replacement, each reduced to the q-quantile of its resampled iterations.
 */
export function drawReplicate(side: PreparedSide, state: ResampleState): number {
  const pos = nextUniform(state) * (RANK_GRID - 1);
  const i = pos | 0;
  const t = side.rankTable;
  const u1 = i >= RANK_GRID - 1 ? 1 : t[i] + (t[i + 1] - t[i]) * (pos - i);
  const first = pooledInverse(side, u1);
  if (!side.even) return first;
  // Given the m-th smallest, the next is the smallest of the other k-m uniforms above it.
  const u2 = u1 + (1 - u1) * (1 - Math.pow(1 - nextUniform(state), side.nextExponent));
  return (first + pooledInverse(side, u2)) / 2;
}
