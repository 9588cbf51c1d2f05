import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SessionJob, SessionJobData, SessionJobResult } from '@pocketbench/contracts';

/**
 * The producer side of the session queues. Queue names come from `queueNameForPool` /
 * `queueNameForDevice` with the same prefix, which is also BullMQ's key prefix, so a worker
 * built with the same `POCKETBENCH_QUEUE_PREFIX` consumes exactly these queues.
 */
export class SessionQueues {
  private readonly queues = new Map<string, Queue<SessionJobData, SessionJobResult>>();
  private closed = false;

  constructor(
    readonly connection: Redis,
    readonly prefix: string,
  ) {}

  get(name: string): Queue<SessionJobData, SessionJobResult> {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<SessionJobData, SessionJobResult>(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /** Enqueues sessions grouped by queue; within a queue they keep the given order (A B A B…). */
  async addBulk(byQueue: Map<string, SessionJob[]>): Promise<void> {
    await Promise.all([...byQueue].map(([name, sessionJobs]) => this.get(name).addBulk(sessionJobs)));
  }

  /**
   * Best-effort removal (compensation, cancellation): tries every job and returns the errors
   * instead of throwing, so the caller decides whether to log them.
   */
  async remove(byQueue: Map<string, string[]>): Promise<Error[]> {
    const results = await Promise.allSettled([...byQueue].flatMap(([name, jobIds]) => jobIds.map((id) => this.get(name).remove(id))));
    return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  }

  /** Jobs not yet finished (waiting, delayed, prioritized, active) per queue name. */
  async depths(names: Iterable<string>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const name of new Set([...names, ...this.queues.keys()])) {
      const c = await this.get(name).getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'paused');
      out.set(name, Object.values(c).reduce((a, b) => a + b, 0));
    }
    return out;
  }

  async ping(): Promise<void> {
    await this.connection.ping();
  }

  /** Closes every queue even when one fails; idempotent. The connection belongs to the caller. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const results = await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
