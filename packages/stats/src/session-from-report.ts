import { seriesInputSpec, type BenchReport, type SessionRecord } from '@pocketbench/contracts';
import { iterationSummary } from './summary.js';

/** Where a report belongs (the row's keys) and what the caller knows beyond the report. */
export type SessionContext = Pick<SessionRecord, 'jobId' | 'runId' | 'role' | 'sessionIndex' | 'attempt' | 'artifactId' | 'source'> & {
  deviceId: string | null;
  /** The artifact's size, for a report that never loaded the model (no `model`). */
  artifactSizeBytes?: number;
  /** Device facts that key the series; without them the session joins no series. */
  seriesDevice?: { deviceModel: string; osVersion?: string | null };
  /** Why an `ok` session must not count (hygiene, too hot): it is stored `unstable` with them. */
  unstableReasons?: readonly string[];
};

/**
 * The one BenchReport → `sessions` row mapping, for farm and external sessions: status, error,
 * figures, the summary of the (integer µs) iterations, and the series facts.
 */
export function sessionFromReport(report: BenchReport, ctx: SessionContext): SessionRecord {
  const iterationsUs = (report.timing?.iterationsUs ?? []).map((v) => Math.round(v));
  const unstable = report.status === 'ok' && (ctx.unstableReasons?.length ?? 0) > 0;
  return {
    jobId: ctx.jobId,
    runId: ctx.runId,
    role: ctx.role,
    sessionIndex: ctx.sessionIndex,
    attempt: ctx.attempt ?? 1,
    artifactId: ctx.artifactId,
    deviceId: ctx.deviceId,
    status: unstable ? 'unstable' : report.status,
    errorClass: report.error?.class ?? (unstable ? 'unstable' : null),
    errorMessage: report.error?.message ?? (unstable ? ctx.unstableReasons!.join('; ') : report.backend.reason ?? null),
    backendRequested: report.backend.requested,
    backendUsed: report.backend.used,
    runtime: report.runtime.name,
    runtimeVersion: report.runtime.version,
    harnessVersion: report.harness.version,
    deviceArch: report.host.arch,
    iterationsUs,
    summary: iterationsUs.length ? iterationSummary(iterationsUs) : null,
    loadMs: report.timing?.modelLoadMs ?? null,
    firstInferenceMs: report.timing?.firstInferenceMs ?? null,
    peakRssBytes: report.memory?.peakRssBytes ?? null,
    peakRssMethod: report.memory?.method ?? null,
    modelSizeBytes: report.model?.sizeBytes ?? ctx.artifactSizeBytes ?? null,
    deviceStateBefore: report.device.before,
    deviceStateAfter: report.device.after,
    report,
    source: ctx.source ?? 'farm',
    fidelity: report.status === 'ok' ? (report.fidelity ?? null) : null,
    series: ctx.seriesDevice
      ? { deviceModel: ctx.seriesDevice.deviceModel, osVersion: ctx.seriesDevice.osVersion, inputSpec: seriesInputSpec(report.spec) }
      : undefined,
  };
}
