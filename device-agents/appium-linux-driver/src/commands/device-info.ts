import { TargetUnreachableError } from '../errors.js';
import { FACTS_PROBE, STATE_PROBE } from '../probes.js';
import { QEMU_CPU } from '../targets/qemu-target.js';
import type { DriverContext } from '../driver-context.js';
import { harnessArgv, installedManifest } from './app-management.js';
import { harnessDir } from './paths.js';

async function runProbe(driver: DriverContext, argv: string[], script: string, what: string) {
  const r = await driver.target.exec([...argv, '-'], { stdin: script, timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new TargetUnreachableError(`${what} probe failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(-500)}`);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new TargetUnreachableError(`${what} probe printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/**
 * `mobile: deviceInfo` — facts read on the target itself (under emulation: from inside it),
 * plus the backends the installed harness reports with `--probe` (none when no harness yet).
 */
export async function mobileDeviceInfo(this: DriverContext, harnessVersion?: string) {
  const facts = await runProbe(this, this.target.nodeArgv(), FACTS_PROBE, 'device facts');
  const info: Record<string, unknown> = {
    ...facts,
    target: this.target.kind,
    emulated: this.target.emulated,
    peakRssMethod: this.target.peakRssMethod,
    backends: [] as string[],
  };
  if (this.target.kind === 'qemu-arm64') {
    info.deviceModel = `qemu-arm64 (emulated ${QEMU_CPU})`;
    info.emulator = 'qemu-user';
  }
  if (harnessVersion) {
    const dir = harnessDir(this, harnessVersion);
    const manifest = await installedManifest(this, harnessVersion);
    const r = await this.target.exec(harnessArgv(this.target.nodeArgv(), dir, manifest, 'probe'), { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new TargetUnreachableError(`harness --probe failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(-500)}`);
    const probe = JSON.parse(r.stdout) as Record<string, unknown>;
    info.harnessProbe = probe;
    info.backends = extractBackends(probe);
  }
  return info;
}

/** The harness's --probe output lists backends either as an array or as {name: available}. */
function extractBackends(probe: Record<string, unknown>): string[] {
  const b = probe.backends;
  if (Array.isArray(b)) {
    return b
      .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' && (x as { available?: boolean }).available !== false ? (x as { name?: string; backend?: string }).name ?? (x as { backend?: string }).backend : undefined))
      .filter((x): x is string => typeof x === 'string');
  }
  if (b && typeof b === 'object') return Object.entries(b).filter(([, v]) => v === true || (v && typeof v === 'object' && (v as { available?: boolean }).available)).map(([k]) => k);
  return [];
}

/** `mobile: deviceState` — temperatures, frequencies, governor, load, memory available. */
export async function mobileDeviceState(this: DriverContext) {
  return await runProbe(this, this.target.stateNodeArgv(), STATE_PROBE, 'device state');
}
