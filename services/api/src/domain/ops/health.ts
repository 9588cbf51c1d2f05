// What /readyz and the queue-depth gauge read: whether Postgres and Redis answer, and the work waiting per queue.
import { queueNameForDevice, queueNameForPool, type Readiness } from '@pocketbench/contracts';
import { listDevices, ping, type Pool } from '@pocketbench/db';
import type { Logger } from 'pino';
import type { SessionQueues } from '../../infra/session-queues.js';

/** How long a dependency may take to answer a health read, ms. */
const ANSWER_WITHIN_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref())]);
}

/**
 * Postgres and Redis, each `ok` or `unavailable`. Why one is unavailable goes to the log only:
 * a raw driver error names hosts, ports and users.
 */
export async function checkReadiness(deps: { db: Pool; queues: SessionQueues; logger: Logger }): Promise<Readiness> {
  const checks: Readiness['checks'] = {};
  const check = (name: string, p: Promise<unknown>) =>
    p.then(
      () => (checks[name] = 'ok'),
      (err: Error) => {
        deps.logger.warn({ check: name, err: err.message }, 'readiness check failed');
        checks[name] = 'unavailable';
      },
    );
  await Promise.all([
    check('db', withTimeout(ping(deps.db), ANSWER_WITHIN_MS, 'postgres')),
    check('redis', withTimeout(deps.queues.ping(), ANSWER_WITHIN_MS, 'redis')),
  ]);
  return { status: Object.values(checks).every((v) => v === 'ok') ? 'ok' : 'unavailable', checks };
}

/** Session jobs waiting, delayed or active in every queue the fleet has: one per registered pool and device. */
export async function fleetQueueDepths(deps: { db: Pool; queues: SessionQueues }, prefix: string): Promise<Map<string, number>> {
  const devices = await listDevices(deps.db);
  const names = [...new Set(devices.map((d) => d.pool)).values()].map((p) => queueNameForPool(p, prefix));
  names.push(...devices.map((d) => queueNameForDevice(d.id, prefix)));
  return withTimeout(deps.queues.depths(names), ANSWER_WITHIN_MS, 'redis');
}
