import path from 'node:path';
import { HarnessTimeoutError, invalidArgument } from '../errors.js';
import type { PocketbenchLinuxDriver } from '../driver.js';
import { installedManifest } from './app-management.js';
import { harnessDir, targetPath } from './paths.js';

const tail = (s: string, n = 2000) => (s.length > n ? s.slice(-n) : s);

/**
 * `mobile: runHarness` — runs an installed harness version on a spec already pushed to the
 * target: `node <entry> --spec <specPath> --out <reportPath>`, killed (process group) once the
 * budget is spent. The report stays on the target for pullFile. On emulated targets the
 * report's peak RSS is replaced by the emulator process's, measured from the host.
 */
export async function mobileRunHarness(
  this: PocketbenchLinuxDriver,
  version: string,
  specPath: string,
  reportPath: string,
  timeoutSec: unknown = 300,
) {
  if (typeof version !== 'string' || !version) throw invalidArgument('version', 'must be an installed harness version');
  if (typeof timeoutSec !== 'number' || !(timeoutSec > 0)) throw invalidArgument('timeoutSec', 'must be a positive number of seconds');
  const spec = targetPath(this, specPath, 'specPath');
  const out = targetPath(this, reportPath, 'reportPath');
  if (!(await this.target.exists(spec))) throw invalidArgument('specPath', `no such file on the target: ${spec}`);
  const manifest = await installedManifest(this, version);
  await this.target.remove(out);
  const argv = [...this.target.nodeArgv(), path.join(harnessDir(this, version), manifest.entry), '--spec', spec, '--out', out];
  this.log.info(`running harness ${version}: ${argv.join(' ')}`);
  const r = await this.target.exec(argv, {
    timeoutMs: timeoutSec * 1000,
    measurePeakRss: this.target.emulated,
  });
  if (r.timedOut) {
    await this.target.remove(out);
    throw new HarnessTimeoutError(timeoutSec, tail(r.stderr, 500));
  }
  const reportWritten = await this.target.exists(out);
  if (reportWritten && this.target.emulated && r.peakRssBytes) {
    const report = JSON.parse((await this.target.readFile(out)).toString('utf8')) as Record<string, unknown>;
    report.peakRssBytes = r.peakRssBytes;
    report.peakRssMethod = this.target.peakRssMethod;
    await this.target.writeFile(out, Buffer.from(`${JSON.stringify(report, null, 2)}\n`));
  }
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    durationMs: r.durationMs,
    reportPath: out,
    reportWritten,
    peakRssBytes: r.peakRssBytes ?? null,
    peakRssMethod: r.peakRssBytes ? this.target.peakRssMethod : null,
    stdoutTail: tail(r.stdout),
    stderrTail: tail(r.stderr),
  };
}
