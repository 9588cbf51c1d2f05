import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { eventsQueueName, runFinishedJob, type RunFinishedEvent } from '@pocketbench/contracts';

/**
 * The worker's side of the farm's events queue: it knows the moment a run finishes (the
 * session that finished it was just committed) and says so; the api reacts (alerts). A lost
 * event is caught by the api's sweeper, so publishing never fails a session.
 */
export class RunEvents {
  private readonly queue: Queue<RunFinishedEvent>;

  constructor(
    opts: { connection: ConnectionOptions; queuePrefix: string; bullPrefix?: string },
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<RunFinishedEvent>(eventsQueueName(opts.queuePrefix), { connection: opts.connection, prefix: opts.bullPrefix });
    this.queue.on('error', (err) => this.logger.warn({ err: err.message }, 'events queue error'));
  }

  async runFinished(runId: string): Promise<void> {
    const event = runFinishedJob(runId);
    try {
      await this.queue.add(event.name, event.data, event.opts);
      this.logger.info({ runId }, 'run.finished published');
    } catch (err) {
      this.logger.warn({ runId, err: (err as Error).message }, 'could not publish run.finished; the api sweeper will find the run');
    }
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
