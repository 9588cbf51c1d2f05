import type { Logger } from 'pino';
import type { Pool } from '@pocketbench/db';
import type { ApiConfig } from './config.js';
import type { AfterRunAlertTrigger } from './domain/alerts/after-run-trigger.js';
import type { ArtifactStore } from './domain/artifacts/artifact-store.js';
import type { Metrics } from './infra/metrics.js';
import type { ConversionQueue } from './infra/conversion-queue.js';
import type { SessionQueues } from './infra/session-queues.js';

/** Everything the routes need; built by `startWebServer`, or by a test. */
export interface AppDeps {
  config: ApiConfig;
  db: Pool;
  queues: SessionQueues;
  /** The conversion jobs' queue (variants runs); absent in tests that build deps by hand. */
  conversions?: ConversionQueue;
  store: ArtifactStore;
  logger: Logger;
  metrics: Metrics;
  /** Alert detection when a run is seen finishing; absent in tests that build deps by hand. */
  alerts?: AfterRunAlertTrigger;
}
