import { incompleteBeta } from './special.js';

/**
 * Exact distribution of which order statistic a bootstrap resample's quantile lands on.
 *
 * Resampling n iterations with replacement and taking the k-th smallest gives x_(j) with
 * P(X*_(k) <= x_(j)) = P(Binomial(n, j/n) >= k) = I_{j/n}(k, n-k+1). Drawing j from this
 * table costs one uniform and a short binary search instead of n draws and a sort, which is
 * what makes the hierarchical bootstrap fast. An interpolated quantile (between ranks k and
 * k+1 with weight w) is drawn from the mixture of the two ranks' distributions.
 */
export interface OrderStatisticTable {
  /** First sorted index with non-negligible probability. */
  start: number;
  /** cdf[i] = P(index <= start + i); the last entry is 1. */
  cdf: Float64Array;
}

const EPS = 1e-12;
// Keyed by q, then n: looked up once per session, so no key strings are built.
const cache = new Map<number, Map<number, OrderStatisticTable>>();
const CACHE_LIMIT = 4096;

export function orderStatisticTable(n: number, q: number): OrderStatisticTable {
  let byN = cache.get(q);
  if (!byN) cache.set(q, (byN = new Map()));
  const hit = byN.get(n);
  if (hit) return hit;
  const table = buildTable(n, q);
  if (byN.size >= CACHE_LIMIT) byN.clear();
  byN.set(n, table);
  return table;
}

function buildTable(n: number, q: number): OrderStatisticTable {
  if (n <= 1) return { start: 0, cdf: Float64Array.of(1) };
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const w = h - lo;
  const k1 = lo + 1;
  const k2 = Math.min(lo + 2, n);
  const full = new Float64Array(n);
  for (let j = 1; j <= n; j++) {
    const p = j / n;
    const c1 = incompleteBeta(p, k1, n - k1 + 1);
    const c2 = w > 0 ? incompleteBeta(p, k2, n - k2 + 1) : c1;
    full[j - 1] = (1 - w) * c1 + w * c2;
  }
  full[n - 1] = 1;
  let start = 0;
  while (start < n - 1 && full[start] < EPS) start++;
  let end = n - 1;
  while (end > start && full[end - 1] > 1 - EPS) end--;
  const cdf = full.slice(start, end + 1);
  cdf[cdf.length - 1] = 1;
  return { start, cdf };
}

/** First index whose cumulative probability reaches u (binary search over a non-decreasing CDF). */
export function firstIndexAtLeast(cdf: ArrayLike<number>, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorted index drawn from the table for the uniform u. */
export function drawIndex(table: OrderStatisticTable, u: number): number {
  return table.start + firstIndexAtLeast(table.cdf, u);
}
