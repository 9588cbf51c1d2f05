import { summarize, median } from './summary.js';

/** MAD × 1.4826 estimates the standard deviation of normally distributed values. */
const MAD_TO_SD = 1.4826;

export interface HygieneOptions {
  /** Largest acceptable coefficient of variation of a session's iterations. @defaultValue 0.10 */
  cvCap?: number;
  /**
   * Which CV the cap applies to. `robust` (1.4826 · MAD / median) equals the usual CV for
   * well-behaved iterations but is not blown up by a few outliers (a GC pause, an interrupt),
   * which the median-based statistics ignore anyway; `classic` is stddev / mean.
   * @defaultValue 'robust'
   */
  cvKind?: 'robust' | 'classic';
  /**
   * Largest acceptable relative difference between the medians of the first and last thirds.
   * A drift is only reported when it is also beyond the noise of those two medians (3 standard
   * errors), so a short noisy session is not called drifting by chance. @defaultValue 0.10
   */
  driftCap?: number;
}

export interface HygieneCheck {
  stable: boolean;
  /** Human-readable reasons a session is not stable (empty when stable). */
  reasons: string[];
  /** The CV the cap was applied to (see `cvKind`). */
  cv: number;
  /** median(last third) / median(first third) - 1; 0 when there are too few iterations to tell. */
  drift: number;
}

/** CV cap and first-vs-last-third drift of one session (REGRESSION.md, "Session hygiene"). */
export function checkSessionHygiene(iterationsUs: ArrayLike<number>, options: HygieneOptions = {}): HygieneCheck {
  const cvCap = options.cvCap ?? 0.1;
  const driftCap = options.driftCap ?? 0.1;
  const reasons: string[] = [];
  const n = iterationsUs.length;
  if (n === 0) return { stable: false, reasons: ['no timed iterations'], cv: NaN, drift: NaN };
  const s = summarize(iterationsUs);
  const robustSd = MAD_TO_SD * s.mad;
  const robust = options.cvKind !== 'classic';
  const cv = robust ? (s.p50 > 0 ? robustSd / s.p50 : 0) : s.cv;
  if (cv > cvCap) reasons.push(`${robust ? 'robust ' : ''}CV ${pct(cv)} exceeds the cap of ${pct(cvCap)}`);
  let drift = 0;
  // Fewer than 3 per third says nothing about drift.
  if (n >= 9) {
    const third = Math.floor(n / 3);
    const values = Array.from(iterationsUs as ArrayLike<number>);
    const first = median(values.slice(0, third));
    const last = median(values.slice(n - third));
    drift = first > 0 ? last / first - 1 : 0;
    // Standard error of a median of `third` values is about 1.2533 · sd / √third; of the difference, √2 times that.
    const noise = (3 * Math.SQRT2 * 1.2533 * robustSd) / Math.sqrt(third);
    if (Math.abs(drift) > driftCap && Math.abs(last - first) > noise) {
      reasons.push(`first and last thirds drift apart by ${pct(drift)} (cap ${pct(driftCap)})`);
    }
  }
  return { stable: reasons.length === 0, reasons, cv, drift };
}

export interface TemperatureCheck {
  /** True when the device is above its ceiling and must cool down before a session starts. */
  overCeiling: boolean;
  /** Hottest reading found, null when the snapshot has none. */
  maxC: number | null;
  ceilingC: number;
}

/** Default temperature ceiling for a session start (°C). */
export const DEFAULT_TEMPERATURE_CEILING_C = 45;

/**
 * Temperature ceiling: a session that would start above it waits (cooldown) first. Accepts a
 * reading, a list of readings, or a map of sensor name to reading (as in device snapshots).
 */
export function checkTemperatureCeiling(
  readingsC: number | readonly number[] | Record<string, number | null | undefined> | null | undefined,
  ceilingC = DEFAULT_TEMPERATURE_CEILING_C,
): TemperatureCheck {
  const values =
    readingsC == null
      ? []
      : typeof readingsC === 'number'
        ? [readingsC]
        : Array.isArray(readingsC)
          ? readingsC
          : Object.values(readingsC as Record<string, number | null | undefined>);
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const maxC = finite.length ? Math.max(...finite) : null;
  return { overCeiling: maxC !== null && maxC > ceilingC, maxC, ceilingC };
}

export type HygieneAction = 'keep' | 'retry' | 'unstable';

/** An unstable session is retried once, then kept but marked `unstable` (excluded from baselines and verdicts). */
export function hygieneAction(check: Pick<HygieneCheck, 'stable'>, attempt: number, maxAttempts = 2): HygieneAction {
  if (check.stable) return 'keep';
  return attempt < maxAttempts ? 'retry' : 'unstable';
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
