import { errors } from '@appium/base-driver';
import type { DriverContext } from '../driver-context.js';

/** `execute` only carries `mobile:` methods here; there is no page to run JavaScript in. */
export async function execute(this: DriverContext, script: string, args: unknown[]): Promise<unknown> {
  if (!/^mobile:\s*\w/.test(script)) {
    throw new errors.UnsupportedOperationError(`this driver runs no scripts, only 'mobile:' execute methods (got '${script.slice(0, 40)}')`);
  }
  return await this.executeMethod(script.replace(/^mobile:\s*/, 'mobile: '), [(args?.[0] ?? {}) as Record<string, unknown>]);
}
