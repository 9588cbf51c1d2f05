import type { Histogram } from '@pocketbench/contracts';

/**
 * Histogram of a session's iterations with Freedman–Diaconis bin width (robust to the slow
 * outliers phones produce), clamped to 5..40 bins so it reads at a glance.
 */
export function histogram(valuesUs: readonly number[]): Histogram {
  if (valuesUs.length === 0) return { edgesUs: [], counts: [] };
  const sorted = [...valuesUs].sort((a, b) => a - b);
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  if (max === min) return { edgesUs: [min, min + 1], counts: [sorted.length] };
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))];
  const iqr = q(0.75) - q(0.25);
  const fd = iqr > 0 ? (2 * iqr) / Math.cbrt(sorted.length) : (max - min) / 10;
  const bins = Math.min(40, Math.max(5, Math.ceil((max - min) / fd)));
  const width = (max - min) / bins;
  const edgesUs = Array.from({ length: bins + 1 }, (_, i) => min + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) counts[Math.min(bins - 1, Math.floor((v - min) / width))] += 1;
  return { edgesUs, counts };
}
