import type { JobsOptions } from 'bullmq';

/**
 * Options of a session job added by the worker (adaptive A/B), the same as the api's:
 * infrastructure faults are retried with exponential backoff; the deterministic id makes a
 * second add a no-op.
 */
export function sessionJobOptions(jobId: string): JobsOptions {
  return {
    jobId,
    attempts: 3,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
