import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { eventsQueueName, type RunFinishedEvent } from '@pocketbench/contracts';

/** How long close() waits for the consumer before dropping its connections (Redis may be gone). */
const CLOSE_WAIT_MS = 2000;

/**
 * The api's side of the farm's events queue: reacts to `run.finished` as the worker publishes
 * it, so alerts do not wait for someone to watch the run's progress stream.
 */
export class RunEventsConsumer {
  private readonly worker: Worker<RunFinishedEvent>;
  private closing?: Promise<void>;

  constructor(opts: { redis: Redis; prefix: string; logger: Logger; onRunFinished(runId: string): void }) {
    // A consumer blocks on Redis: its own connections, never giving up on a command (BullMQ's rule).
    const connection = { ...opts.redis.options, maxRetriesPerRequest: null, lazyConnect: false };
    this.worker = new Worker<RunFinishedEvent>(
      eventsQueueName(opts.prefix),
      async (job) => {
        if (job.name === 'run.finished') opts.onRunFinished(job.data.runId);
      },
      { connection, prefix: opts.prefix, concurrency: 4 },
    );
    this.worker.on('error', (err) => opts.logger.warn({ err: err.message }, 'events consumer error'));
  }

  /** Idempotent; gives up waiting after a moment when Redis is unreachable (the consumer never connected). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)));
      const closed = this.worker.close().then(() => this.worker.disconnect()).catch(() => undefined);
      await Promise.race([closed, waited]);
      clearTimeout(timer);
    })();
    return this.closing;
  }
}
