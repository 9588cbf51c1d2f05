import type { Backend, Device, DeviceState, Platform, Stored } from '@pocketbench/contracts';
import type { NoRows, Queryable } from '../queryable.js';

/** What a worker host registers for each of its devices. */
export interface DeviceRegistration {
  id: string;
  name: string;
  platform: Platform;
  arch: string;
  abi?: string | null;
  soc?: string | null;
  os?: string | null;
  osVersion?: string | null;
  deviceModel: string;
  pool: string;
  host: string;
  emulated?: boolean;
  backends: Backend[] | string[];
  /** How long after the last heartbeat the reaper marks the device offline. @defaultValue 15000 */
  heartbeatTtlMs?: number;
  info?: Record<string, unknown>;
  /** The project owning this device (name; it must exist). Unset: a shared farm device. */
  project?: string | null;
}

/** A registered device (table `devices`). */
export type DeviceRow = Stored<Device, 'lastHeartbeatAt' | 'registeredAt'>;

const DEVICE_COLUMNS = `id, name, platform, arch, abi, soc, os, os_version, device_model, pool, host, emulated, backends,
  state, state_reason, current_job_id, consecutive_failures, last_heartbeat_at, heartbeat_ttl_ms, info, registered_at, project_id`;

/** DEVICE_COLUMNS as pg returns them. */
interface DeviceColumns {
  id: string;
  name: string;
  platform: Platform;
  arch: string;
  abi: string | null;
  soc: string | null;
  os: string | null;
  os_version: string | null;
  device_model: string;
  pool: string;
  host: string;
  emulated: boolean;
  backends: string[] | null;
  state: DeviceState;
  state_reason: string | null;
  current_job_id: string | null;
  consecutive_failures: number;
  last_heartbeat_at: Date;
  heartbeat_ttl_ms: number;
  info: Record<string, unknown> | null;
  registered_at: Date;
  project_id: string | null;
}

function toDeviceRow(r: DeviceColumns): DeviceRow {
  return {
    id: r.id, name: r.name, platform: r.platform, arch: r.arch, abi: r.abi, soc: r.soc, os: r.os, osVersion: r.os_version,
    deviceModel: r.device_model, pool: r.pool, host: r.host, emulated: r.emulated, backends: r.backends ?? [],
    state: r.state, stateReason: r.state_reason, currentJobId: r.current_job_id,
    consecutiveFailures: r.consecutive_failures, lastHeartbeatAt: r.last_heartbeat_at, heartbeatTtlMs: r.heartbeat_ttl_ms,
    info: r.info ?? {}, registeredAt: r.registered_at, projectId: r.project_id ?? null,
  };
}

/**
 * Registers a device or refreshes its facts. A quarantined device stays quarantined (only
 * `releaseDevice` lifts it); any other state becomes `online` with a fresh heartbeat.
 */
export async function upsertDevice(q: Queryable, d: DeviceRegistration): Promise<DeviceRow> {
  if (d.project) {
    const { rows } = await q.query<{ id: string }>('SELECT id FROM projects WHERE name = $1', [d.project]);
    if (!rows.length) throw new Error(`device ${d.id}: its project "${d.project}" does not exist (create it first: pocketbench token create --project ${d.project})`);
  }
  const { rows } = await q.query<DeviceColumns>(
    `INSERT INTO devices (id, name, platform, arch, abi, soc, os, os_version, device_model, pool, host, emulated, backends,
       heartbeat_ttl_ms, info, state, last_heartbeat_at, project_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'online', now(),
             (SELECT id FROM projects WHERE name = $16))
     ON CONFLICT (id) DO UPDATE SET
       name = EXCLUDED.name, platform = EXCLUDED.platform, arch = EXCLUDED.arch, abi = EXCLUDED.abi, soc = EXCLUDED.soc,
       os = EXCLUDED.os, os_version = EXCLUDED.os_version, device_model = EXCLUDED.device_model, pool = EXCLUDED.pool,
       host = EXCLUDED.host, emulated = EXCLUDED.emulated, backends = EXCLUDED.backends,
       heartbeat_ttl_ms = EXCLUDED.heartbeat_ttl_ms, info = EXCLUDED.info, last_heartbeat_at = now(),
       project_id = EXCLUDED.project_id,
       current_job_id = NULL,
       state = CASE WHEN devices.state = 'quarantined' THEN 'quarantined' ELSE 'online' END
     RETURNING ${DEVICE_COLUMNS}`,
    [d.id, d.name, d.platform, d.arch, d.abi ?? null, d.soc ?? null, d.os ?? null, d.osVersion ?? null, d.deviceModel,
      d.pool, d.host, d.emulated ?? false, d.backends, d.heartbeatTtlMs ?? 15000, JSON.stringify(d.info ?? {}), d.project ?? null],
  );
  return toDeviceRow(rows[0]);
}

/**
 * Records a heartbeat. The state given (online/busy) is applied unless the device is
 * quarantined; the stored state is returned so the worker learns of quarantine or release.
 * Returns undefined for an unknown device (the worker then re-registers it).
 */
export async function heartbeat(
  q: Queryable,
  id: string,
  beat: { state: 'online' | 'busy'; currentJobId?: string | null },
): Promise<{ state: DeviceState; stateReason: string | null } | undefined> {
  const { rows } = await q.query<{ state: DeviceState; state_reason: string | null }>(
    `UPDATE devices SET last_heartbeat_at = now(),
       current_job_id = $3,
       state = CASE WHEN state = 'quarantined' THEN 'quarantined' ELSE $2 END,
       state_reason = CASE WHEN state = 'quarantined' THEN state_reason ELSE NULL END
     WHERE id = $1
     RETURNING state, state_reason`,
    [id, beat.state, beat.currentJobId ?? null],
  );
  return rows[0] ? { state: rows[0].state, stateReason: rows[0].state_reason } : undefined;
}

/** The reaper: devices silent for longer than their heartbeat TTL become `offline`. Returns their ids. */
export async function markSilentDevicesOffline(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `UPDATE devices SET state = 'offline', state_reason = 'no heartbeat since ' || to_char(last_heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       current_job_id = NULL
     WHERE state IN ('online', 'busy')
       AND last_heartbeat_at < clock_timestamp() - make_interval(secs => heartbeat_ttl_ms / 1000.0)
     RETURNING id`,
  );
  return rows.map((r) => r.id);
}

export async function listDevices(q: Queryable, filter: { pool?: string } = {}): Promise<DeviceRow[]> {
  const { rows } = filter.pool
    ? await q.query<DeviceColumns>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE pool = $1 ORDER BY pool, id`, [filter.pool])
    : await q.query<DeviceColumns>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY pool, id`);
  return rows.map(toDeviceRow);
}

/**
 * Which of these targets are emulated: a device whose `emulated` is set, a pool whose every
 * registered device is. They are shown as `<pool> (emulated)`.
 */
export async function emulatedTargets(
  q: Queryable, targets: { pools: string[]; deviceIds: string[] },
): Promise<{ pools: Set<string>; devices: Set<string> }> {
  const { rows } = await q.query<{ kind: 'pool' | 'device'; name: string }>(
    `SELECT 'pool' AS kind, pool AS name FROM devices WHERE pool = ANY($1::text[]) GROUP BY pool HAVING bool_and(emulated)
     UNION ALL
     SELECT 'device', id FROM devices WHERE id = ANY($2::text[]) AND emulated`,
    [targets.pools, targets.deviceIds],
  );
  return {
    pools: new Set(rows.filter((r) => r.kind === 'pool').map((r) => r.name)),
    devices: new Set(rows.filter((r) => r.kind === 'device').map((r) => r.name)),
  };
}

export async function getDevice(q: Queryable, id: string): Promise<DeviceRow | undefined> {
  const { rows } = await q.query<DeviceColumns>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = $1`, [id]);
  return rows[0] ? toDeviceRow(rows[0]) : undefined;
}

interface OutcomeColumns {
  state: DeviceState;
  consecutive_failures: number;
}

/**
 * Counts consecutive failed sessions (infrastructure faults on the device); a success resets
 * the count. After `quarantineAfter` failures in a row the device is `quarantined` with the
 * reason until `releaseDevice`.
 */
export async function recordDeviceOutcome(
  q: Queryable,
  id: string,
  ok: boolean,
  quarantineAfter = 3,
  reason?: string,
): Promise<{ state: DeviceState; consecutiveFailures: number } | undefined> {
  const { rows } = ok
    ? await q.query<OutcomeColumns>(
        `UPDATE devices SET consecutive_failures = 0 WHERE id = $1 RETURNING state, consecutive_failures`,
        [id],
      )
    : await q.query<OutcomeColumns>(
        `UPDATE devices SET consecutive_failures = consecutive_failures + 1,
           state = CASE WHEN consecutive_failures + 1 >= $2 THEN 'quarantined' ELSE state END,
           state_reason = CASE WHEN consecutive_failures + 1 >= $2
             THEN format('quarantined after %s consecutive failed sessions; last: %s', consecutive_failures + 1, $3::text)
             ELSE state_reason END,
           current_job_id = CASE WHEN consecutive_failures + 1 >= $2 THEN NULL ELSE current_job_id END
         WHERE id = $1 RETURNING state, consecutive_failures`,
        [id, quarantineAfter, reason ?? 'unknown error'],
      );
  return rows[0] ? { state: rows[0].state, consecutiveFailures: rows[0].consecutive_failures } : undefined;
}

/** Lifts a quarantine (or an offline mark): the device is `online` again with its failure count reset. */
export async function releaseDevice(q: Queryable, id: string): Promise<DeviceRow | undefined> {
  const { rows } = await q.query<DeviceColumns>(
    `UPDATE devices SET state = 'online', state_reason = NULL, consecutive_failures = 0, last_heartbeat_at = now()
     WHERE id = $1 RETURNING ${DEVICE_COLUMNS}`,
    [id],
  );
  return rows[0] ? toDeviceRow(rows[0]) : undefined;
}

/** Marks a device offline on purpose (a worker shutting down cleanly). */
export async function markDeviceOffline(q: Queryable, id: string, reason: string): Promise<void> {
  await q.query<NoRows>(
    `UPDATE devices SET state = CASE WHEN state = 'quarantined' THEN state ELSE 'offline' END,
       state_reason = CASE WHEN state = 'quarantined' THEN state_reason ELSE $2 END, current_job_id = NULL
     WHERE id = $1`,
    [id, reason],
  );
}
