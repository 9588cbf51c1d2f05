import { summarize, median } from './summary.js';

export interface HygieneOptions {
  /** Largest acceptable coefficient of variation of a session's iterations. @defaultValue 0.10 */
  cvCap?: number;
  /** Largest acceptable relative difference between the medians of the first and last thirds. @defaultValue 0.10 */
  driftCap?: number;
}

export interface HygieneCheck {
  stable: boolean;
  /** Human-readable reasons a session is not stable (empty when stable). */
  reasons: string[];
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
  const { cv } = summarize(iterationsUs);
  if (cv > cvCap) reasons.push(`CV ${pct(cv)} exceeds the cap of ${pct(cvCap)}`);
  let drift = 0;
  // Fewer than 3 per third says nothing about drift.
  if (n >= 9) {
    const third = Math.floor(n / 3);
    const values = Array.from(iterationsUs as ArrayLike<number>);
    const first = median(values.slice(0, third));
    const last = median(values.slice(n - third));
    drift = first > 0 ? last / first - 1 : 0;
    if (Math.abs(drift) > driftCap) {
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
