// The Fleet page (#/fleet): every device, its heartbeat, the job in hand and its latest session.
import type { Queryable } from '../../queryable.js';
import type { DeviceRow } from '../devices.js';
import { num } from './common.js';

export interface FleetDevice
  extends Pick<
    DeviceRow,
    | 'id' | 'name' | 'platform' | 'arch' | 'soc' | 'os' | 'osVersion' | 'deviceModel' | 'pool' | 'host'
    | 'emulated' | 'backends' | 'state' | 'stateReason' | 'lastHeartbeatAt' | 'currentJobId' | 'consecutiveFailures'
  > {
  /** The heartbeat is older than the device's TTL: the reaper will (or should) mark it offline. */
  heartbeatStale: boolean;
  currentRunId: string | null;
  /** The project of the job in hand (views hide other projects' ids behind this). */
  currentProjectId: string | null;
  lastSessionAt: Date | null;
  lastSessionId: number | null;
  lastSessionProjectId: string | null;
  /** The latest session's device state (after, else before). */
  lastDeviceState: unknown;
}

/** The `devices` columns the page shows, with the job in hand and the latest session. */
interface FleetRow {
  id: string;
  name: string;
  platform: DeviceRow['platform'];
  arch: string;
  soc: string | null;
  os: string | null;
  os_version: string | null;
  device_model: string;
  pool: string;
  host: string;
  emulated: boolean;
  backends: string[];
  state: DeviceRow['state'];
  state_reason: string | null;
  current_job_id: string | null;
  consecutive_failures: number;
  last_heartbeat_at: Date;
  current_run_id: string | null;
  current_project_id: string | null;
  last_session_id: number | string | null;
  last_session_at: Date | null;
  /** jsonb: the harness's device-state snapshot. */
  last_state: unknown;
  last_session_project_id: string | null;
  stale: boolean;
}

export async function listFleet(q: Queryable): Promise<FleetDevice[]> {
  const { rows } = await q.query<FleetRow>(
    `SELECT d.*, j.run_id AS current_run_id, jr.project_id AS current_project_id, ls.id AS last_session_id,
            ls.created_at AS last_session_at, ls.state AS last_state, ls.project_id AS last_session_project_id,
            (now() - d.last_heartbeat_at) > make_interval(secs => d.heartbeat_ttl_ms / 1000.0) AS stale
       FROM devices d
       LEFT JOIN jobs j ON j.id = d.current_job_id
       LEFT JOIN runs jr ON jr.id = j.run_id
       LEFT JOIN LATERAL (SELECT s.id, s.created_at, coalesce(s.device_state_after, s.device_state_before) AS state, sr.project_id
                            FROM sessions s JOIN runs sr ON sr.id = s.run_id
                           WHERE s.device_id = d.id ORDER BY s.created_at DESC LIMIT 1) ls ON true
      ORDER BY d.pool, d.id`,
  );
  return rows.map((r) => ({
    id: r.id, name: r.name, platform: r.platform, arch: r.arch, soc: r.soc, os: r.os, osVersion: r.os_version,
    deviceModel: r.device_model, pool: r.pool, host: r.host, emulated: r.emulated, backends: r.backends, state: r.state,
    stateReason: r.state_reason, lastHeartbeatAt: r.last_heartbeat_at, heartbeatStale: r.stale, currentJobId: r.current_job_id,
    currentRunId: r.current_run_id ?? null, currentProjectId: r.current_project_id ?? null,
    consecutiveFailures: r.consecutive_failures, lastSessionAt: r.last_session_at ?? null,
    lastSessionId: num(r.last_session_id), lastSessionProjectId: r.last_session_project_id ?? null, lastDeviceState: r.last_state ?? null,
  }));
}
