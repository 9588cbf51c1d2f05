import type { DeviceStateView } from '@pocketbench/contracts';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Reads a snapshot defensively: sessions stored by older harnesses may lack any field. */
export function viewDeviceState(state: unknown): DeviceStateView | null {
  if (!state || typeof state !== 'object') return null;
  const s = state as Record<string, unknown>;
  const zones: Record<string, number> = {};
  if (s.thermalZones && typeof s.thermalZones === 'object') {
    for (const [k, v] of Object.entries(s.thermalZones as Record<string, unknown>)) if (finite(v)) zones[k] = v;
  }
  const temps = Object.values(zones);
  const freqs = Array.isArray(s.cpuFreqKhz) ? s.cpuFreqKhz.filter(finite).map((k) => Math.round(k / 1000)) : [];
  return {
    takenAt: typeof s.takenAt === 'string' ? s.takenAt : null,
    temperatureC: temps.length ? Math.max(...temps) : finite(s.temperatureC) ? s.temperatureC : null,
    thermalZones: zones,
    cpuFreqMhz: freqs,
    governor: typeof s.governor === 'string' ? s.governor : null,
    loadAvg: Array.isArray(s.loadAvg) ? s.loadAvg.filter(finite) : null,
    batteryPct: finite(s.batteryPct) ? s.batteryPct : null,
  };
}
