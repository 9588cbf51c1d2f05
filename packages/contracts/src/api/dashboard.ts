// The dashboard's read model: one response per page (services/dashboard/src/pages), served by
// services/api/src/routes/ui.ts from packages/db/src/queries/dashboard/.
import type { RunConfig } from '../jobs.js';
import type { AlertStatus, DeviceState, JobStatus, RunStatus, SessionRole, SessionStatus, Verdict } from '../vocabulary.js';
import type { Device } from './resources.js';
import type { IsoTimestamp } from './wire.js';

// ------------------------------------------------------------------ Runs (#/runs)

export interface VerdictCounts {
  pass: number;
  fail: number;
  inconclusive: number;
}

export interface RunOverview {
  id: string;
  project: string;
  commitSha: string | null;
  branch: string | null;
  mergeBase: string | null;
  status: RunStatus;
  jobsTotal: number;
  jobsFinished: number;
  createdAt: IsoTimestamp;
  finishedAt: IsoTimestamp | null;
  /** The run's own verdict (the gate's answer), if it was decided. */
  verdict: Verdict | null;
  /** Verdicts of its cells, counted per cell (a cell's worst metric). */
  cells: VerdictCounts;
}

/** `GET /api/v1/dashboard/runs`. */
export interface RunsOverviewPage {
  runs: RunOverview[];
  /** Every run matching the filters (the page holds `limit` of them). */
  total: number;
}

/** `GET /api/v1/dashboard/filters`: what the filter menus offer. */
export interface RunFilterOptions {
  projects: string[];
  branches: string[];
}

// ------------------------------------------------------------------ Run (#/runs/:id)

export interface MatrixVerdict {
  metric: string;
  verdict: Verdict;
  headValue: number | null;
  baselineValue: number | null;
  ratio: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  budget: number | null;
  baselineSource: string | null;
}

export interface MatrixCell {
  jobId: string;
  cellIndex: number;
  artifactId: string;
  pool: string;
  /** Every device of the pool is emulated (`qemu-arm64 (emulated)`). */
  emulated: boolean;
  backend: string;
  status: JobStatus;
  reason: string | null;
  sessionsPlanned: number;
  sessionsDone: number;
  sessionsOk: number;
  sessionsUnstable: number;
  /** Median over the cell's ok head sessions of each session's median / p90 (µs). */
  p50Us: number | null;
  p90Us: number | null;
  peakRssBytes: number | null;
  seriesId: number | null;
  /** One ok session near the cell's median, to open from the matrix. */
  sessionId: number | null;
  /** Worst verdict over the cell's metrics. */
  verdict: Verdict | null;
  verdicts: MatrixVerdict[];
  /** Fidelity medians over ok head sessions (null without a fidelity pass): top-1 agreement %, eval-set top-1 %, drop in pp. */
  top1AgreementPct: number | null;
  accuracyTop1Pct: number | null;
  accuracyDropPct: number | null;
  /** What ran, from the cell's ok head sessions: the devices, runtime and version (`onnxruntime 1.30.0`). */
  devices: string[];
  runtime: string | null;
  /** GPU backends: the adapter that ran the cell, `name (deviceType)`; lavapipe/llvmpipe says `(cpu)`. */
  gpuAdapter: string | null;
}

export interface MatrixArtifact {
  id: string;
  model: string;
  variant: string;
  format: string;
  sizeBytes: number;
  filename: string | null;
}

export interface MatrixColumn {
  pool: string;
  backend: string;
  emulated: boolean;
}

/** A variants run: the fp32 TorchScript parent and each conversion (queued, running, done, unsupported, failed). */
export interface RunLineage {
  parent: { id: string; model: string; filename: string | null; sha256: string; sizeBytes: number };
  conversions: {
    variant: string;
    format: string;
    status: string;
    reason: string | null;
    unsupportedOp: string | null;
    artifact: { id: string; sha256: string; sizeBytes: number } | null;
    recipe: Record<string, unknown> | null;
  }[];
}

/** `GET /api/v1/runs/:id/matrix`: rows are artifacts, columns pool × backend. */
export interface RunMatrix {
  run: RunOverview & { baselineBranch: string; config: RunConfig; startedAt: IsoTimestamp | null };
  artifacts: MatrixArtifact[];
  columns: MatrixColumn[];
  cells: MatrixCell[];
  runVerdicts: MatrixVerdict[];
  /** The newest earlier run of the same project and branch (the default "compare with"). */
  previousRunId: string | null;
  lineage: RunLineage | null;
}

// ------------------------------------------------------------------ Series (#/series, #/series/:id)

export interface SeriesMeta {
  id: number;
  project: string;
  model: string;
  variant: string;
  runtime: string;
  backend: string;
  deviceModel: string;
  /** Every registered device of this model is emulated. */
  emulated: boolean;
  osMajor: string;
  harnessVersion: string;
}

export interface SeriesSummary extends SeriesMeta {
  activeAlerts: number;
  /** Newest first: the last (up to 30) ok head session medians, µs. */
  recentP50Us: number[];
  lastSessionAt: IsoTimestamp | null;
}

/** `GET /api/v1/series`. */
export interface SeriesList {
  series: SeriesSummary[];
  total: number;
}

export interface SeriesPoint {
  sessionId: number;
  runId: string;
  jobId: string;
  commitSha: string | null;
  branch: string | null;
  createdAt: IsoTimestamp;
  status: SessionStatus;
  p10Us: number | null;
  p50Us: number;
  p90Us: number | null;
}

export interface Alert {
  id: number;
  seriesId: number;
  sessionId: number;
  runId: string | null;
  commitSha: string | null;
  previousCommitSha: string | null;
  status: AlertStatus;
  direction: 'regression' | 'improvement';
  metric: string;
  beforeValue: number;
  afterValue: number;
  /** (after − before) / before × 100. Positive = slower for latency. */
  changePct: number;
  pValue: number | null;
  sessionsBefore: number;
  sessionsAfter: number;
  changedAt: IsoTimestamp;
  detectedAt: IsoTimestamp;
  statusChangedAt: IsoTimestamp | null;
  statusNote: string | null;
}

/** An alert with its series, as `GET /api/v1/alerts` lists it. */
export interface AlertListItem extends Alert {
  series: { project: string; model: string; variant: string; runtime: string; backend: string; deviceModel: string };
}

export interface BaselineSegment {
  id: number;
  seriesId: number;
  startsAt: IsoTimestamp;
  startSessionId: number | null;
  alertId: number | null;
  createdAt: IsoTimestamp;
}

/** `GET /api/v1/series/:id`. */
export interface SeriesView {
  series: SeriesMeta & { inputSpec: string };
  branch: string | null;
  points: SeriesPoint[];
  alerts: Alert[];
  segments: BaselineSegment[];
  /** The latency budgets the gate applied to the series' newest cells; `metric` is `p50_ms` or `p90_ms` (the budgets file's keys). */
  budgets: { metric: string; budgetMs: number }[];
  /** Pass as `before` for the previous (older) page; null at the start of history. */
  nextBefore: IsoTimestamp | null;
}

/** `POST /api/v1/series/:id/detect-alerts`: the alerts the detection opened. */
export interface AlertsDetected {
  opened: Alert[];
}

// ------------------------------------------------------------------ Session (#/sessions/:id)

/** What the dashboard shows of a device-state snapshot. */
export interface DeviceStateView {
  takenAt: string | null;
  /** Hottest thermal zone, °C. */
  temperatureC: number | null;
  thermalZones: Record<string, number>;
  cpuFreqMhz: number[];
  governor: string | null;
  loadAvg: number[] | null;
  batteryPct: number | null;
}

export interface Histogram {
  /** Bin edges, µs: bin i covers [edges[i], edges[i+1]) (the last bin includes its upper edge). */
  edgesUs: number[];
  counts: number[];
}

/** `GET /api/v1/sessions/:id`. */
export interface SessionView {
  id: number;
  runId: string;
  jobId: string;
  seriesId: number | null;
  role: SessionRole;
  sessionIndex: number;
  attempt: number;
  status: SessionStatus;
  errorClass: string | null;
  errorMessage: string | null;
  commitSha: string | null;
  branch: string | null;
  project: string;
  model: string;
  variant: string;
  format: string;
  backendRequested: string;
  backendUsed: string | null;
  runtime: string | null;
  runtimeVersion: string | null;
  harnessVersion: string | null;
  device: { id: string | null; name: string | null; deviceModel: string | null; pool: string | null; arch: string | null; emulated: boolean };
  iterationsUs: number[];
  summary: {
    minUs: number | null; meanUs: number | null; p50Us: number | null; p90Us: number | null; p99Us: number | null;
    stddevUs: number | null; madUs: number | null; cv: number | null;
  };
  loadMs: number | null;
  firstInferenceMs: number | null;
  peakRssBytes: number | null;
  peakRssMethod: string | null;
  modelSizeBytes: number | null;
  /** The harness's snapshots as stored (free-form JSON); the view below is what the page shows. */
  deviceStateBefore: unknown;
  deviceStateAfter: unknown;
  createdAt: IsoTimestamp;
  histogram: Histogram;
  deviceBefore: DeviceStateView | null;
  deviceAfter: DeviceStateView | null;
}

// ------------------------------------------------------------------ Compare (#/compare)

export interface CompareCell {
  sizeBytes: number;
  p50Us: number | null;
  p90Us: number | null;
  peakRssBytes: number | null;
  sessions: number;
  /** Reference p50 / this p50: above 1 means faster than the first column. */
  speedup: number | null;
  /** Fidelity against the cells' reference (null without a fidelity pass): top-1 agreement %, eval-set top-1 %, accuracy drop in pp. */
  top1AgreementPct: number | null;
  accuracyTop1Pct: number | null;
  accuracyDropPct: number | null;
}

export interface CompareRow {
  key: string;
  model: string | null;
  variant: string | null;
  format: string | null;
  pool: string;
  /** Every device of the pool is emulated. */
  emulated: boolean;
  backend: string;
  deviceModel: string | null;
  cells: (CompareCell | null)[];
}

export interface CompareSubject {
  id: string;
  label: string;
  detail: string;
  project: string;
}

/** `GET /api/v1/compare?runs=…` or `?artifacts=…`: one column per subject, the first is the reference. */
export interface CompareView {
  kind: 'runs' | 'artifacts';
  subjects: CompareSubject[];
  rows: CompareRow[];
}

// ------------------------------------------------------------------ Fleet (#/fleet)

/**
 * A registered device as the Fleet page shows it. Outside admins, `stateReason` says only what
 * the state means (a quarantine reason may quote another project's error), and `currentJobId`
 * is null for another project's work.
 */
export interface FleetDevice
  extends Pick<
    Device,
    | 'id' | 'name' | 'platform' | 'arch' | 'soc' | 'os' | 'osVersion' | 'deviceModel' | 'pool' | 'host' | 'emulated'
    | 'backends' | 'state' | 'stateReason' | 'lastHeartbeatAt' | 'currentJobId' | 'consecutiveFailures'
  > {
  /** The heartbeat is older than the device's TTL: the reaper will (or should) mark it offline. */
  heartbeatStale: boolean;
  /** Null for another project's work. */
  currentRunId: string | null;
  lastSessionAt: IsoTimestamp | null;
  lastSessionId: number | null;
  /** The latest session's device state (after, else before). */
  lastState: DeviceStateView | null;
}

export interface FleetPool {
  pool: string;
  /** Emulated pools are labelled as such wherever they are shown (`qemu-arm64 (emulated)`). */
  emulated: boolean;
  devices: number;
  available: number;
}

/** `GET /api/v1/fleet`. */
export interface FleetView {
  counts: Record<DeviceState, number>;
  pools: FleetPool[];
  devices: FleetDevice[];
}

// ------------------------------------------------------------------ Alerts (#/alerts)

/** `GET /api/v1/alerts`: newest detections first; `counts` per status under the other filters. */
export interface AlertList {
  alerts: AlertListItem[];
  total: number;
  counts: Record<AlertStatus, number>;
}

/** `POST /api/v1/alerts/:id/acknowledge` and `/dismiss`. */
export interface AlertDecision {
  alert: Alert;
  /** The baseline segment an acknowledgement started (absent for dismissals and repeats). */
  segment?: BaselineSegment;
}
