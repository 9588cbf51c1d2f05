// Shapes of the /api/v1 responses the pages read (JSON: dates are ISO strings).
import type { AlertStatus, DeviceState, RunStatus, Verdict } from '@pocketbench/contracts';

export interface VerdictCounts { pass: number; fail: number; inconclusive: number }

export interface RunOverview {
  id: string; project: string; commitSha: string | null; branch: string | null; mergeBase: string | null; status: RunStatus;
  jobsTotal: number; jobsFinished: number; createdAt: string; finishedAt: string | null; verdict: Verdict | null; cells: VerdictCounts;
}

export interface MatrixVerdict {
  metric: string; verdict: Verdict; headValue: number | null; baselineValue: number | null; ratio: number | null;
  ciLow: number | null; ciHigh: number | null; budget: number | null; baselineSource: string | null;
}

export interface MatrixCell {
  jobId: string; cellIndex: number; artifactId: string; pool: string; emulated: boolean; backend: string; status: string; reason: string | null;
  sessionsPlanned: number; sessionsDone: number; sessionsOk: number; sessionsUnstable: number; p50Us: number | null;
  p90Us: number | null; peakRssBytes: number | null; seriesId: number | null; sessionId: number | null;
  verdict: Verdict | null; verdicts: MatrixVerdict[];
  /** Fidelity medians (null without a fidelity pass): top-1 agreement %, eval-set top-1 %, drop in pp. */
  top1AgreementPct: number | null; accuracyTop1Pct: number | null; accuracyDropPct: number | null;
}

export interface RunMatrix {
  run: RunOverview & { baselineBranch: string; startedAt: string | null };
  artifacts: { id: string; model: string; variant: string; format: string; sizeBytes: number; filename: string | null }[];
  columns: { pool: string; backend: string; emulated: boolean }[];
  cells: MatrixCell[];
  runVerdicts: MatrixVerdict[];
  previousRunId: string | null;
  /** A variants run: the fp32 TorchScript parent and each conversion (queued, running, done, unsupported, failed). */
  lineage: RunLineage | null;
}

export interface RunLineage {
  parent: { id: string; model: string; filename: string | null; sha256: string; sizeBytes: number };
  conversions: {
    variant: string; format: string; status: string; reason: string | null; unsupportedOp: string | null;
    artifact: { id: string; sha256: string; sizeBytes: number } | null; recipe: Record<string, unknown> | null;
  }[];
}

/** An artifact as `GET /api/v1/artifacts` lists it (Compare's artifact picker). */
export interface ArtifactSummary {
  id: string; model: string; project: string; variant: string; format: string; sizeBytes: number; filename: string | null;
  parentArtifactId: string | null; createdAt: string;
}

export interface SeriesMeta {
  id: number; project: string; model: string; variant: string; runtime: string; backend: string; deviceModel: string;
  emulated: boolean; osMajor: string; harnessVersion: string;
}

export interface SeriesSummary extends SeriesMeta { activeAlerts: number; recentP50Us: number[]; lastSessionAt: string | null }

export interface SeriesPoint {
  sessionId: number; runId: string; jobId: string; commitSha: string | null; branch: string | null; createdAt: string;
  status: string; p10Us: number | null; p50Us: number; p90Us: number | null;
}

export interface Alert {
  id: number; seriesId: number; sessionId: number; runId: string | null; commitSha: string | null; previousCommitSha: string | null;
  status: AlertStatus; direction: 'regression' | 'improvement'; beforeValue: number; afterValue: number; changePct: number;
  pValue: number | null; sessionsBefore: number; sessionsAfter: number; changedAt: string; detectedAt: string;
  statusChangedAt: string | null; statusNote: string | null;
  series?: { project: string; model: string; variant: string; runtime: string; backend: string; deviceModel: string };
}

export interface SeriesView {
  series: SeriesMeta; branch: string | null; points: SeriesPoint[]; alerts: Alert[];
  segments: { id: number; startsAt: string; startSessionId: number | null; alertId: number | null }[];
  budgets: { metric: string; budgetMs: number }[]; nextBefore: string | null;
}

export interface DeviceStateView {
  takenAt: string | null; temperatureC: number | null; thermalZones: Record<string, number>; cpuFreqMhz: number[];
  governor: string | null; loadAvg: number[] | null; batteryPct: number | null;
}

export interface SessionView {
  id: number; runId: string; jobId: string; seriesId: number | null; role: string; sessionIndex: number; attempt: number;
  status: string; errorClass: string | null; errorMessage: string | null; commitSha: string | null; branch: string | null;
  project: string; model: string; variant: string; format: string; backendRequested: string; backendUsed: string | null;
  runtime: string | null; runtimeVersion: string | null; harnessVersion: string | null;
  device: { id: string | null; name: string | null; deviceModel: string | null; pool: string | null; arch: string | null; emulated: boolean };
  iterationsUs: number[];
  summary: { minUs: number | null; meanUs: number | null; p50Us: number | null; p90Us: number | null; p99Us: number | null; stddevUs: number | null; madUs: number | null; cv: number | null };
  loadMs: number | null; firstInferenceMs: number | null; peakRssBytes: number | null; peakRssMethod: string | null;
  modelSizeBytes: number | null; createdAt: string; histogram: { edgesUs: number[]; counts: number[] };
  deviceBefore: DeviceStateView | null; deviceAfter: DeviceStateView | null;
}

export interface CompareCell {
  sizeBytes: number; p50Us: number | null; p90Us: number | null; peakRssBytes: number | null; sessions: number; speedup: number | null;
  /** Against the cells' fidelity reference: top-1 agreement %, eval-set top-1 %, accuracy drop (pp). */
  top1AgreementPct: number | null; accuracyTop1Pct: number | null; accuracyDropPct: number | null;
}
export interface CompareView {
  kind: 'runs' | 'artifacts';
  subjects: { id: string; label: string; detail: string }[];
  rows: { key: string; model: string | null; variant: string | null; format: string | null; pool: string; emulated: boolean; backend: string; deviceModel: string | null; cells: (CompareCell | null)[] }[];
}

export interface FleetDevice {
  id: string; name: string; platform: string; arch: string; soc: string | null; os: string | null; osVersion: string | null;
  deviceModel: string; pool: string; host: string; emulated: boolean; backends: string[]; state: DeviceState;
  stateReason: string | null; lastHeartbeatAt: string; heartbeatStale: boolean; currentJobId: string | null;
  currentRunId: string | null; consecutiveFailures: number; lastSessionAt: string | null; lastSessionId: number | null;
  lastState: DeviceStateView | null;
}
export interface FleetView { counts: Record<DeviceState, number>; pools: { pool: string; emulated: boolean; devices: number; available: number }[]; devices: FleetDevice[] }

export interface AlertList { alerts: Alert[]; total: number; counts: Record<AlertStatus, number> }
