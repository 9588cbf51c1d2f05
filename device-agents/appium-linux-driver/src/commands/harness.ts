import { HarnessTimeoutError, invalidArgument } from '../errors.js';
import type { DriverContext } from '../driver-context.js';
import { harnessArgv, installedManifest } from './app-management.js';
import { harnessDir, targetPath } from './paths.js';

const tail = (s: string, n = 2000) => (s.length > n ? s.slice(-n) : s);

/**
 * `mobile: runHarness` — runs an installed harness version on a spec already pushed to the
 * target: `node <entry> run --spec <specPath> --out <reportPath>` (`sh <entry> …` for a native
 * bundle), killed (process group) once the
 * budget is spent. The report stays on the target for pullFile. On emulated targets the
 * report's peak RSS is replaced by the emulator process's, measured from the host.
 */
export async function mobileRunHarness(
  this: DriverContext,
  version: string,
  specPath: string,
  reportPath: string,
  timeoutSec: unknown = 300,
) {
  if (typeof version !== 'string' || !version) throw invalidArgument('version', 'must be an installed harness version');
  const dir = harnessDir(this, version);
  if (typeof timeoutSec !== 'number' || !(timeoutSec > 0)) throw invalidArgument('timeoutSec', 'must be a positive number of seconds');
  const spec = targetPath(this, specPath, 'specPath');
  const out = targetPath(this, reportPath, 'reportPath', { write: true });
  if (!(await this.target.exists(spec))) throw invalidArgument('specPath', `no such file on the target: ${spec}`);
  const manifest = await installedManifest(this, version);
  await this.target.remove(out);
  const argv = harnessArgv(this.target.nodeArgv(), dir, manifest, 'run', { spec, out });
  this.log.info(`running harness ${version}: ${argv.join(' ')}`);
  let pid: number | undefined;
  let tracked: Promise<void> | undefined;
  const r = await this.target
    .exec(argv, {
      timeoutMs: timeoutSec * 1000,
      measurePeakRss: this.target.emulated,
      onSpawn: (p) => {
        pid = p;
        tracked = this.target.trackHarness(p, this.sessionId ?? '').catch((e: Error) => this.log.warn(`cannot record harness ${p}: ${e.message}`));
      },
    })
    .finally(async () => {
      // A run shorter than its own record's write must not leave the record behind.
      await tracked;
      if (pid) await this.target.untrackHarness(pid);
    });
  if (r.timedOut) {
    await this.target.remove(out);
    throw new HarnessTimeoutError(timeoutSec, tail(r.stderr, 500));
  }
  const reportWritten = await this.target.exists(out);
  if (reportWritten && this.target.emulated) await labelEmulated(this, out);
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    durationMs: r.durationMs,
    reportPath: out,
    reportWritten,
    /** ru_maxrss of the largest process of the harness's tree, as the host sees it (emulated targets). */
    processTreePeakRssBytes: r.peakRssBytes ?? null,
    stdoutTail: tail(r.stdout),
    stderrTail: tail(r.stderr),
  };
}

/**
 * An emulated device's report says so: host.emulated, and the peak RSS method names the
 * emulator process (`VmHWM-emulator-host`: what VmHWM read under qemu-user actually measured).
 */
async function labelEmulated(driver: DriverContext, reportFile: string): Promise<void> {
  let report: Record<string, unknown>;
  try {
    report = JSON.parse((await driver.target.readFile(reportFile)).toString('utf8')) as Record<string, unknown>;
  } catch {
    return; // an unreadable report is the worker's to reject, unchanged
  }
  if (report.host && typeof report.host === 'object') (report.host as Record<string, unknown>).emulated = true;
  if (report.memory && typeof report.memory === 'object') {
    const memory = report.memory as Record<string, unknown>;
    memory.method = driver.target.peakRssMethod;
    // smaps_rollup under qemu-user is the emulator's, like VmHWM, and has no label that says so.
    delete memory.pssBytes;
    delete memory.pssMethod;
  }
  await driver.target.writeFile(reportFile, Buffer.from(`${JSON.stringify(report)}\n`));
}
