import { releaseDevice, type DeviceRow, type Pool } from '@pocketbench/db';
import { notFound } from '../../errors.js';
import { requireAdmin, type Principal } from '../auth/tokens.js';

/** Lifts a device's quarantine (admin only); an unregistered id is a 404. Returns the device as it is now. */
export async function releaseDeviceFor(db: Pool, principal: Principal, id: string): Promise<DeviceRow> {
  requireAdmin(principal, 'releasing a device');
  const device = await releaseDevice(db, id);
  if (!device) throw notFound(`device "${id}" is not registered`);
  return device;
}
