import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Backend } from '@pocketbench/contracts';
import type { AdapterContext, Browser, DeviceAdapter, HarnessBundle } from './device-adapter.js';
import type { DeviceInfo, DeviceStateSnapshot } from './device-session.js';
import { HarnessFailedError, TransferError } from './errors.js';

/** Everything of ours on an Android device lives here (world-writable for adb, survives app reinstalls). */
export const ANDROID_ROOT = '/data/local/tmp/pocketbench';

/** A native Android harness bundle's manifest.json. */
interface AndroidManifest {
  version: string;
  /** Executable, relative to the bundle: runs `<entry> run --spec S --out R` and `<entry> probe`. */
  entry: string;
  /** Every file to push (entry included), relative to the bundle. */
  files: string[];
  /** Files to make executable after the push (the native bundle's loader and programs). @defaultValue [entry] */
  executables?: string[];
  /** `sh`: the entry is a POSIX sh script (the native bundle), run as `sh <entry>`. */
  interpreter?: 'sh';
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Parses the state script's output (see STATE_SCRIPT). */
export function parseAndroidState(out: string, takenAt = new Date().toISOString()): DeviceStateSnapshot {
  const s: DeviceStateSnapshot = { takenAt, thermalZones: {}, cpuFreqKhz: [], loadAvg: [0, 0, 0] };
  for (const line of out.split('\n')) {
    const [tag, ...rest] = line.trim().split(/\s+/);
    if (tag === 'T' && rest.length >= 2) {
      const v = Number(rest[rest.length - 1]);
      // Zones report millidegrees, a few report degrees.
      if (Number.isFinite(v)) s.thermalZones[rest.slice(0, -1).join(' ')] = Math.abs(v) > 1000 ? v / 1000 : v;
    } else if (tag === 'F' && rest[0] && Number.isFinite(Number(rest[0]))) s.cpuFreqKhz.push(Number(rest[0]));
    else if (tag === 'G' && rest[0]) s.governor = rest[0];
    else if (tag === 'L' && rest.length >= 3) s.loadAvg = [Number(rest[0]), Number(rest[1]), Number(rest[2])];
    else if (tag === 'MemAvailable:' && rest[0]) s.memAvailableBytes = Number(rest[0]) * 1024;
    else if (tag === 'level:' && rest[0]) s.batteryPct = Number(rest[0]);
    else if (tag === 'temperature:' && rest[0]) s.batteryTempC = Number(rest[0]) / 10;
  }
  return s;
}

const STATE_SCRIPT = [
  'for z in /sys/class/thermal/thermal_zone*; do echo "T $(cat $z/type 2>/dev/null) $(cat $z/temp 2>/dev/null)"; done',
  'for c in /sys/devices/system/cpu/cpu[0-9]*; do echo "F $(cat $c/cpufreq/scaling_cur_freq 2>/dev/null)"; done',
  'echo "G $(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null)"',
  'echo "L $(cat /proc/loadavg)"',
  'grep MemAvailable /proc/meminfo',
  "dumpsys battery | grep -E '^ *(level|temperature):'",
].join('; ');

/**
 * Android phones through Appium's UiAutomator2 driver: a native harness binary pushed to
 * /data/local/tmp and run with `mobile: shell` (Appium needs --allow-insecure=adb_shell).
 * Not run on hardware here; see docs/devices.md.
 */
export class AndroidAdapter implements DeviceAdapter {
  private installedVersion?: string;
  constructor(private readonly ctx: AdapterContext) {}

  reset(): void {
    this.installedVersion = undefined;
  }

  capabilities(): Record<string, unknown> {
    return {
      platformName: 'Android',
      'appium:automationName': 'UiAutomator2',
      'appium:noReset': true,
      'appium:newCommandTimeout': 3600,
      ...this.ctx.device.capabilities,
    };
  }

  private bundle(): HarnessBundle {
    // The worker host passes the native aarch64 bundle (device-agents/harness/native) unless
    // another Android harness is configured.
    const h = this.ctx.platformHarnesses.android;
    if (!h) throw new HarnessFailedError(`device ${this.ctx.device.id} is an Android device but no Android harness is configured (platformHarnesses.android; the worker host passes the native aarch64 bundle)`);
    return h;
  }

  /** `mobile: shell` with the exit status appended, so failures are seen (adb shell returns 0 anyway on old devices). */
  private async sh(b: Browser, script: string, timeoutMs = 60_000): Promise<{ out: string; rc: number }> {
    const raw = (await b.execute('mobile: shell', { command: 'sh', args: ['-c', `${script}; echo __rc=$?`], timeout: timeoutMs })) as string | { stdout: string };
    const text = typeof raw === 'string' ? raw : raw.stdout;
    const m = /__rc=(\d+)\s*$/.exec(text);
    return { out: m ? text.slice(0, m.index) : text, rc: m ? Number(m[1]) : -1 };
  }

  private async remoteSha(b: Browser, p: string): Promise<string | null> {
    const r = await this.sh(b, `sha256sum ${q(p)} 2>/dev/null`);
    return r.rc === 0 ? (r.out.trim().split(/\s+/)[0] ?? null) : null;
  }

  private async pushVerified(b: Browser, data: Buffer, p: string): Promise<void> {
    const sha = createHash('sha256').update(data).digest('hex');
    await b.pushFile(p, data.toString('base64'));
    const landed = await this.remoteSha(b, p);
    if (landed !== sha) throw new TransferError(`${p} on ${this.ctx.device.id}: pushed sha256 ${sha}, device has ${landed ?? 'no file'}`);
  }

  async ensureHarness(b: Browser): Promise<void> {
    const h = this.bundle();
    if (this.installedVersion === h.version) return;
    const dir = `${ANDROID_ROOT}/harness/${h.version}`;
    if ((await this.sh(b, `[ -f ${q(dir)}/.installed ]`)).rc !== 0) {
      const m = JSON.parse(await readFile(path.join(h.dir, 'manifest.json'), 'utf8')) as AndroidManifest;
      for (const f of new Set([m.entry, ...m.files])) await this.pushVerified(b, await readFile(path.join(h.dir, f)), `${dir}/${f}`);
      const exe = [...new Set([m.entry, ...(m.executables ?? [])])].map((f) => q(`${dir}/${f}`)).join(' ');
      // The marker records how to start the entry: `sh <entry>` for a POSIX sh entry (a pushed file
      // loses its mode, and some vendor shells refuse #! scripts in /data/local/tmp).
      const start = m.interpreter === 'sh' ? `sh ${m.entry}` : m.entry;
      const r = await this.sh(b, `chmod 755 ${exe} && echo ${q(start)} > ${q(dir)}/.installed`);
      if (r.rc !== 0) throw new TransferError(`installing the harness on ${this.ctx.device.id}: ${r.out.trim()}`);
      this.ctx.log.info({ version: h.version }, 'Android harness installed');
    }
    this.installedVersion = h.version;
  }

  /** The shell words that start the installed harness (`'<dir>/<entry>'` or `sh '<dir>/<entry>'`). */
  private async entry(b: Browser): Promise<string> {
    const dir = `${ANDROID_ROOT}/harness/${this.bundle().version}`;
    const r = await this.sh(b, `cat ${q(dir)}/.installed`);
    if (r.rc !== 0) throw new HarnessFailedError(`the harness ${this.bundle().version} is not installed on ${this.ctx.device.id}`);
    const words = r.out.trim().split(/\s+/);
    const file = `${dir}/${words.pop()}`;
    return [...words, q(file)].join(' ');
  }

  async ensureModel(b: Browser, artifactPath: string, sha256: string, format: string): Promise<string> {
    const p = `${ANDROID_ROOT}/models/${sha256}.${format}`;
    if ((await this.remoteSha(b, p)) === sha256) return p;
    const data = await readFile(artifactPath);
    await this.pushVerified(b, data, p);
    return p;
  }

  async info(b: Browser): Promise<DeviceInfo> {
    const props = ['ro.product.model', 'ro.product.cpu.abi', 'ro.build.version.release', 'ro.soc.model', 'ro.board.platform', 'ro.product.manufacturer'];
    const r = await this.sh(b, `${props.map((p) => `echo "P ${p}=$(getprop ${p})"`).join('; ')}; echo "N $(nproc)"; grep MemTotal /proc/meminfo; uname -m`);
    const prop = (k: string) => new RegExp(`^P ${k.replace(/\./g, '\\.')}=(.*)$`, 'm').exec(r.out)?.[1]?.trim() ?? '';
    const memKb = Number(/MemTotal:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
    let backends: Backend[] = ['cpu'];
    if (this.installedVersion) {
      const p = await this.sh(b, `${await this.entry(b)} probe`, 120_000);
      try {
        const probe = JSON.parse(p.out) as { backends?: unknown };
        if (Array.isArray(probe.backends)) backends = probe.backends.filter((x): x is Backend => typeof x === 'string');
      } catch {
        /* a harness that cannot probe is treated as cpu-only */
      }
    }
    return {
      arch: r.out.trim().split('\n').pop() ?? prop('ro.product.cpu.abi'),
      abi: prop('ro.product.cpu.abi'),
      cpuModel: prop('ro.soc.model') || prop('ro.board.platform'),
      cores: Number(/^N (\d+)/m.exec(r.out)?.[1] ?? 0),
      memoryBytes: memKb * 1024,
      os: 'Android',
      osVersion: prop('ro.build.version.release'),
      deviceModel: `${prop('ro.product.manufacturer')} ${prop('ro.product.model')}`.trim(),
      backends,
    };
  }

  async state(b: Browser): Promise<DeviceStateSnapshot> {
    return parseAndroidState((await this.sh(b, STATE_SCRIPT)).out);
  }

  async runHarness(b: Browser, specJson: string, runLabel: string, budgetSec: number): Promise<string> {
    const dir = `${ANDROID_ROOT}/runs/${runLabel}`;
    await this.pushVerified(b, Buffer.from(specJson), `${dir}/spec.json`);
    try {
      const entry = await this.entry(b);
      const r = await this.sh(b, `cd ${q(`${ANDROID_ROOT}/harness/${this.bundle().version}`)} && ${entry} run --spec ${q(`${dir}/spec.json`)} --out ${q(`${dir}/report.json`)}`, budgetSec * 1000);
      let report: string;
      try {
        report = Buffer.from(await b.pullFile(`${dir}/report.json`), 'base64').toString('utf8');
      } catch {
        throw new HarnessFailedError(`the Android harness wrote no report (exit ${r.rc}): ${r.out.trim().slice(-800)}`);
      }
      return report;
    } finally {
      await this.sh(b, `rm -rf ${q(dir)}`).catch(() => undefined);
    }
  }
}
