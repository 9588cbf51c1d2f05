import { Router, type Request, type Response } from 'express';
import type { Device, DeviceList } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { listDevicesFor } from '../domain/devices/device-list.js';
import { releaseDeviceFor } from '../domain/devices/release-device.js';
import { principalOf } from '../http/auth.js';
import { jsonBody } from '../http/guard.js';
import { sendJson } from '../http/respond.js';
import { validate } from '../http/validate.js';

const deviceQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { pool: { type: 'string', minLength: 1 } },
} as const;

export function deviceRoutes(deps: AppDeps): Router {
  const router = Router();

  router.get('/api/v1/devices', async (req, res) => {
    const q = validate<{ pool?: string }>(deviceQuerySchema, { ...(req.query as Record<string, unknown>) });
    sendJson<DeviceList>(res, await listDevicesFor(deps.db, principalOf(res), { pool: q.pool }));
  });

  router.post('/api/v1/devices/:id/release', jsonBody('1kb'), async (req: Request<{ id: string }>, res: Response) => {
    const device = await releaseDeviceFor(deps.db, principalOf(res), req.params.id);
    deps.logger.info({ deviceId: device.id }, 'device released');
    sendJson<Device>(res, device);
  });

  return router;
}
