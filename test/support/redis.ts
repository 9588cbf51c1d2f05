import { randomUUID } from 'node:crypto';

export const TEST_REDIS_URL = process.env.POCKETBENCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A queue prefix owned by one test, so parallel or leftover tests never share queues. */
export function testQueuePrefix(): string {
  return `test-${randomUUID()}`;
}
