import type { DeviceList, Sendable } from '@pocketbench/contracts';
import { listDevices, type Pool } from '@pocketbench/db';
import { projectScope, type Principal } from '../auth/tokens.js';
import { publicStateReason } from '../dashboard/index.js';

/**
 * The registered devices as `principal` may see them: outside admins another project's work is
 * "busy" without its job id, and a state reason says only what the state means.
 */
export async function listDevicesFor(db: Pool, principal: Principal, filter: { pool?: string }): Promise<Sendable<DeviceList>> {
  const devices = await listDevices(db, filter);
  const admin = projectScope(principal).kind === 'all';
  return {
    devices: devices.map((d) => ({
      ...d,
      ...(admin ? {} : { currentJobId: null, stateReason: publicStateReason(d.state, d.stateReason) }),
      // Emulated pools are labelled as such wherever they are shown.
      poolLabel: d.emulated ? `${d.pool} (emulated)` : d.pool,
    })),
  };
}
