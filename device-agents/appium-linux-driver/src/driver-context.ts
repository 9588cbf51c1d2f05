import type { AppiumLogger } from '@appium/types';
import type { Target } from './targets/target.js';

/**
 * What a command needs from the driver. Commands take it as `this` (the driver class mixes
 * them in), so no command file imports the driver and the driver imports every command file.
 */
export interface DriverContext {
  readonly target: Target;
  readonly log: AppiumLogger;
  readonly sessionId: string | null;
  executeMethod(script: string, protoArgs: readonly [Record<string, unknown>] | [Record<string, unknown>]): Promise<unknown>;
  isAppInstalled(bundleId: string): Promise<boolean>;
}
