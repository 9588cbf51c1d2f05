import { summarize, median } from './summary.js';

/** MAD × 1.4826 estimates the standard deviation of normally distributed values. */
const MAD_TO_SD = 1.4826;

export interface HygieneOptions {
  /**
   * Largest acceptable coefficient of variation of a session's iterations, as long as the
   * session's median is also imprecise (see `medianSeCap`). @defaultValue 0.10
   */
  cvCap?: number;
  /**
   * Largest acceptable relative standard error of the session median (≈ 1.2533 · CV / √n). A
   * noisy session that timed enough iterations (a minimum timed duration) still has a precise
   * median, and the median is what the statistics use. @defaultValue the standard error a CV of
   * `cvCap` gives at 50 iterations: 1.2533 · cvCap / √50 (≈ 1.8 % for 10 %)
   */
  medianSeCap?: number;
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
  /**
   * Whether running the session again could give a stable one: a drift (a disturbance during
   * the session) can pass; the noise of sub-millisecond iterations is the timer's and the
   * scheduler's and comes back every time, so such a session is never rerun.
   */
  retryable: boolean;
}

/** Iterations faster than this are dominated by timer and scheduler noise: rerunning cannot make them quieter. */
const TIMER_BOUND_US = 1000;

/** CV cap and first-vs-last-third drift of one session (REGRESSION.md, "Session hygiene"). */
export function checkSessionHygiene(iterationsUs: ArrayLike<number>, options: HygieneOptions = {}): HygieneCheck {
  const cvCap = options.cvCap ?? 0.1;
  const driftCap = options.driftCap ?? 0.1;
  const reasons: string[] = [];
  const n = iterationsUs.length;
  if (n === 0) return { stable: false, reasons: ['no timed iterations'], cv: NaN, drift: NaN, retryable: false };
  const s = summarize(iterationsUs);
  const robustSd = MAD_TO_SD * s.mad;
  const robust = options.cvKind !== 'classic';
  const cv = robust ? (s.p50 > 0 ? robustSd / s.p50 : 0) : s.cv;
  const medianSe = (1.2533 * cv) / Math.sqrt(n);
  const seCap = options.medianSeCap ?? (1.2533 * cvCap) / Math.sqrt(50);
  const noisy = cv > cvCap && medianSe > seCap;
  if (noisy) reasons.push(`${robust ? 'robust ' : ''}CV ${pct(cv)} exceeds the cap of ${pct(cvCap)} and leaves the median uncertain by ${pct(medianSe)} over ${n} iterations`);
  let drifting = false;
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
      drifting = true;
    }
  }
  const retryable = drifting || (noisy && s.p50 >= TIMER_BOUND_US);
  return { stable: reasons.length === 0, reasons, cv, drift, retryable };
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

/**
 * An unstable session is retried once, then kept but marked `unstable` (excluded from baselines
 * and verdicts); one that cannot get better by running again (`retryable: false`) is not rerun.
 */
export function hygieneAction(check: Pick<HygieneCheck, 'stable'> & { retryable?: boolean }, attempt: number, maxAttempts = 2): HygieneAction {
  if (check.stable) return 'keep';
  return attempt < maxAttempts && check.retryable !== false ? 'retry' : 'unstable';
}

export interface ThrottleCheck {
  throttled: boolean;
  /** Why, for the stored session (null when not throttled). */
  reason: string | null;
}

/** Device state before/after a session, as the harness reports it. */
export interface DeviceStateReading {
  thermalZones?: Record<string, number>;
  cpuFreqKhz?: number[];
}

/**
 * Throttling seen in the device state around a session: the fastest core's frequency fell by
 * more than `maxFreqDrop` (the governor throttled during the session), or the device ended
 * above its temperature ceiling after heating up by more than `minTempRiseC`. Such a session is
 * slower for the device's sake, not the model's: it is kept, flagged, and left out of verdicts.
 */
export function checkThrottling(
  before: DeviceStateReading | null | undefined,
  after: DeviceStateReading | null | undefined,
  options: { maxFreqDrop?: number; ceilingC?: number; minTempRiseC?: number } = {},
): ThrottleCheck {
  const maxFreqDrop = options.maxFreqDrop ?? 0.15;
  const ceilingC = options.ceilingC ?? DEFAULT_TEMPERATURE_CEILING_C;
  const minRise = options.minTempRiseC ?? 5;
  const reasons: string[] = [];
  const fastest = (r: DeviceStateReading | null | undefined) => {
    const f = (r?.cpuFreqKhz ?? []).filter((x) => Number.isFinite(x) && x > 0);
    return f.length ? Math.max(...f) : null;
  };
  const f0 = fastest(before);
  const f1 = fastest(after);
  if (f0 !== null && f1 !== null && f1 < f0 * (1 - maxFreqDrop)) {
    reasons.push(`throttled: the fastest core fell from ${Math.round(f0 / 1000)} to ${Math.round(f1 / 1000)} MHz during the session`);
  }
  const t0 = checkTemperatureCeiling(before?.thermalZones, ceilingC).maxC;
  const t1 = checkTemperatureCeiling(after?.thermalZones, ceilingC);
  if (t0 !== null && t1.maxC !== null && t1.overCeiling && t1.maxC - t0 >= minRise) {
    reasons.push(`throttled: heated from ${t0} to ${t1.maxC} °C, above the ${ceilingC} °C ceiling`);
  }
  return { throttled: reasons.length > 0, reason: reasons.length ? reasons.join('; ') : null };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
