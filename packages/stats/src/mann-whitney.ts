const countsCache = new Map<string, Float64Array>();

/** Number of arrangements giving each U (0 … n·m) for samples of n and m without ties. */
function uCounts(n: number, m: number): Float64Array {
  const key = n <= m ? `${n}:${m}` : `${m}:${n}`;
  let cached = countsCache.get(key);
  if (cached) return cached;
  const [a, b] = n <= m ? [n, m] : [m, n];
  // f[i][j] over U, built with f(i, j, u) = f(i - 1, j, u - j) + f(i, j - 1, u).
  let prev: Float64Array[] = Array.from({ length: b + 1 }, () => new Float64Array(1).fill(1));
  for (let i = 1; i <= a; i++) {
    const cur: Float64Array[] = [new Float64Array(1).fill(1)];
    for (let j = 1; j <= b; j++) {
      const f = new Float64Array(i * j + 1);
      const up = prev[j];
      const left = cur[j - 1];
      for (let u = 0; u < f.length; u++) f[u] = (u - j >= 0 && u - j < up.length ? up[u - j] : 0) + (u < left.length ? left[u] : 0);
      cur.push(f);
    }
    prev = cur;
  }
  cached = prev[b];
  countsCache.set(key, cached);
  return cached;
}

/**
 * One-sided Mann–Whitney U test that x tends to be larger than y: P(U >= u) under the null,
 * exact for samples without ties (ties count one half). Used as the simulation's yardstick.
 */
export function mannWhitneyGreaterP(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return 1;
  let u = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) u += x[i] > y[j] ? 1 : x[i] === y[j] ? 0.5 : 0;
  const counts = uCounts(n, m);
  let total = 0;
  let tail = 0;
  const from = Math.ceil(u - 1e-9);
  for (let k = 0; k < counts.length; k++) {
    total += counts[k];
    if (k >= from) tail += counts[k];
  }
  return tail / total;
}
