import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { conversionQueueName, type ConversionJobData } from '@pocketbench/contracts';

/**
 * BullMQ options of a conversion job: infrastructure faults (download, a crashed converter, the
 * api unreachable) are retried with backoff; the outcome lives in Postgres (`conversions`), so
 * the job leaves Redis either way and a later submit of the same recipe can queue it again.
 */
export const CONVERSION_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: true,
};

/** The producer side of the conversion queue; job id = conversion id, so adding twice is a no-op. */
export class ConversionQueue {
  private queue?: Queue<ConversionJobData>;

  constructor(
    readonly connection: Redis,
    readonly prefix: string,
  ) {}

  get name(): string {
    return conversionQueueName(this.prefix);
  }

  private get q(): Queue<ConversionJobData> {
    this.queue ??= new Queue<ConversionJobData>(this.name, { connection: this.connection, prefix: this.prefix });
    return this.queue;
  }

  async addBulk(jobs: ConversionJobData[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.q.addBulk(jobs.map((data) => ({ name: 'conversion', data, opts: { ...CONVERSION_JOB_OPTIONS, jobId: data.conversionId } })));
  }

  /** Jobs waiting or being converted. */
  async depth(): Promise<number> {
    const c = await this.q.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'paused');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await this.queue?.close();
    this.queue = undefined;
  }
}
