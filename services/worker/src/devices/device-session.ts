/**
 * The worker's one path to any device (Linux target, Android, iOS): a WebdriverIO session
 * against an Appium server. The BullMQ processor only sees this interface.
 * Owned by the devices layer; the processor in services/worker/src/ consumes it.
 */
import type { Backend, BenchReport, BenchSpec, Platform } from '@pocketbench/contracts';

/** What a worker host knows about one of its devices before any session exists. */
export interface DeviceConfig {
  id: string;
  name: string;
  platform: Platform;
  pool: string;
  /** Emulated targets are labelled as such everywhere they are shown. */
  emulated: boolean;
  /** Appium capabilities that select this device (automationName, target kind, udid…). */
  capabilities: Record<string, unknown>;
  /** As the device reports it (`x86_64`, `aarch64`, `arm64-v8a`), when known before a session. */
  arch?: string;
  /** Where the label shown to users differs from `pool` (`qemu-arm64 (emulated)`). */
  poolLabel?: string;
  /** The project owning the device (`POCKETBENCH_DEVICE_PROJECT`); unset: a shared farm device. */
  project?: string;
}

/** Facts read from the device: `mobile: deviceInfo`. */
export interface DeviceInfo {
  arch: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  osVersion: string;
  deviceModel: string;
  backends: Backend[];
  [key: string]: unknown;
}

/** A snapshot of `mobile: deviceState`: temperatures °C, CPU frequencies kHz, load. */
export interface DeviceStateSnapshot {
  takenAt: string;
  thermalZones: Record<string, number>;
  cpuFreqKhz: number[];
  governor?: string;
  loadAvg: [number, number, number];
  memAvailableBytes?: number;
  batteryPct?: number;
  [key: string]: unknown;
}

export interface DeviceSession {
  readonly device: DeviceConfig;
  info(): Promise<DeviceInfo>;
  state(): Promise<DeviceStateSnapshot>;
  /**
   * ensure harness installed → ensure model present (by hash) → run → pull report →
   * validate against the BenchReport schema: the one place a report enters the worker.
   * `spec.artifact` names the file on the worker host (already hash-verified); the device runs
   * its own copy. Resolves with the validated report (whatever its status); rejects only on
   * infrastructure faults (session lost, transfer hash mismatch…), each carrying its errorClass.
   */
  runHarness(spec: BenchSpec): Promise<BenchReport>;
  /**
   * The device state the last report recorded when its session ended (`report.device.after`), if
   * that report was pulled less than `maxAgeMs` ago by this host's clock: what the next session's
   * cooldown check reads instead of starting a probe on the device. Undefined otherwise.
   */
  recentState?(maxAgeMs: number): DeviceStateSnapshot | undefined;
  close(): Promise<void>;
}
