import { faultPolicy, type BenchReport, type ErrorClass } from '@pocketbench/contracts';

/** What running a session produced: a report, or a fault raised before one existed. */
export type RunResult =
  | {
      ran: true;
      report: BenchReport;
      /** Hygiene reasons when the session stays unstable after its re-run; empty otherwise. */
      unstableReasons: string[];
      /** Set when the device was still above its temperature ceiling after the longest cooldown. */
      tooHot?: string;
    }
  | { ran: false; errorClass: ErrorClass; message: string };

/** The session job's circumstances, read by the caller (never by classifyOutcome itself). */
export interface OutcomeContext {
  /** This is the job's last attempt: a retried fault now fails the cell. */
  lastAttempt: boolean;
  /** The worker is shutting down: a fault is the shutdown's, not the job's. */
  shuttingDown: boolean;
  /** This host's Appium server answered just after a raised fault. @defaultValue true */
  appiumUp?: boolean;
  /** The session's cell was cancelled (or ended) while it ran. @defaultValue false */
  cancelled?: boolean;
}

/** What the session processor does with a run, decided by the fault policy (packages/contracts). */
export type SessionOutcome =
  | {
      action: 'store';
      report: BenchReport;
      /** Non-empty: an `ok` report is stored `unstable` with these reasons. */
      unstableReasons: string[];
      /** The harness reported the model's own fault: the session is stored and the cell fails at once. */
      modelFault?: { errorClass: ErrorClass; message: string };
    }
  | {
      action: 'retry';
      errorClass: ErrorClass;
      message: string;
      /** The fault came in the harness's report (rather than raised on the way to it). */
      reported: boolean;
      /** Counts towards the device's quarantine. */
      blameDevice: boolean;
      /** Appium itself is down: wait for it before the retry, blame nobody. */
      waitForAppium: boolean;
      /** No attempt left: the cell fails with this fault. */
      failCell: boolean;
    }
  /** A model fault before any report (unreadable inputs): the cell fails, nothing is stored. */
  | { action: 'fail-cell'; errorClass: ErrorClass; message: string }
  /** Interrupted by the shutdown: the job goes back to the queue as it is. */
  | { action: 'requeue'; message: string }
  /** Its cell was cancelled meanwhile: whatever the run gave is dropped, nobody is blamed. */
  | { action: 'drop'; message: string };

/**
 * Decides a session's outcome from its run and circumstances alone: no I/O, so every branch of
 * the fault policy is unit-tested without Redis, Postgres or Appium.
 */
export function classifyOutcome(run: RunResult, ctx: OutcomeContext): SessionOutcome {
  // A harness stopped by a cancel fails the way a fault does; it is neither a fault nor a result.
  if (ctx.cancelled) return { action: 'drop', message: run.ran ? 'the cell was cancelled while its session ran' : run.message };
  if (!run.ran) {
    const policy = faultPolicy(run.errorClass);
    if (policy.failCell) return { action: 'fail-cell', errorClass: run.errorClass, message: run.message };
    if (ctx.shuttingDown) return { action: 'requeue', message: run.message };
    const appiumUp = ctx.appiumUp ?? true;
    return {
      action: 'retry',
      errorClass: run.errorClass,
      message: run.message,
      reported: false,
      blameDevice: appiumUp && policy.blameDevice,
      waitForAppium: !appiumUp,
      failCell: ctx.lastAttempt,
    };
  }
  const r = run.report;
  if (r.status === 'error') {
    const errorClass: ErrorClass = r.error?.class ?? 'internal';
    const message = r.error?.message ?? 'the harness reported an error';
    const policy = faultPolicy(errorClass);
    if (policy.failCell) return { action: 'store', report: r, unstableReasons: [], modelFault: { errorClass, message } };
    return { action: 'retry', errorClass, message, reported: true, blameDevice: policy.blameDevice, waitForAppium: false, failCell: ctx.lastAttempt };
  }
  // Never let a session run on a hot device into a baseline or verdict.
  const unstableReasons = r.status === 'ok' && run.tooHot ? [...run.unstableReasons, run.tooHot] : run.unstableReasons;
  return { action: 'store', report: r, unstableReasons };
}
