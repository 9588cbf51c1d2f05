import { compareSessions, type CompareOptions, type Comparison } from './compare.js';

export interface AdaptiveOptions extends CompareOptions {
  /** Sessions per side before any decision. @defaultValue 6 */
  minPerSide?: number;
  /** Never schedule beyond this many sessions per side. @defaultValue 20 */
  cap?: number;
  /** Smallest batch to add, to limit how often the cell is looked at. @defaultValue 2 */
  minStep?: number;
  /**
   * Sessions already run per side, counting the unstable and failed ones that `head` and
   * `baseline` leave out: the cap applies to these, so a device that keeps producing unstable
   * sessions cannot schedule forever. @defaultValue the larger of head.length and baseline.length
   */
  scheduledPerSide?: number;
}

export interface AdaptiveStep {
  /** True when no more sessions should be scheduled (decided, or at the cap). */
  decided: boolean;
  /** Sessions to add on each side (head and baseline) before looking again. */
  addPerSide: number;
  /** The comparison that led to this step (absent while below minPerSide). */
  comparison?: Comparison;
}

/**
 * Called after a paired cell's sessions finish: decide now, or schedule `addPerSide` more
 * sessions on each side (interleaved A B A B) and look again.
 */
export function adaptiveNextStep(head: ArrayLike<number>[], baseline: ArrayLike<number>[], options: AdaptiveOptions = {}): AdaptiveStep {
  const minPerSide = options.minPerSide ?? 6;
  const cap = options.cap ?? 20;
  const minStep = options.minStep ?? 2;
  const n = Math.min(head.length, baseline.length);
  const scheduled = Math.max(options.scheduledPerSide ?? 0, head.length, baseline.length);
  const room = Math.max(0, cap - scheduled);
  if (n === 0 && room === 0) return { decided: true, addPerSide: 0 };
  if (n < minPerSide && room > 0) return { decided: false, addPerSide: Math.min(room, minPerSide - n) };
  if (n === 0) return { decided: true, addPerSide: 0 };
  const comparison = compareSessions(head, baseline, options);
  if (comparison.verdict !== 'inconclusive' || room === 0) return { decided: true, addPerSide: 0, comparison };
  const wanted = Math.max(minStep, comparison.sessionsNeededEstimate ?? room);
  return { decided: false, addPerSide: Math.min(room, wanted), comparison };
}
