/** One cell of a run as the CLI shows it (a row of `submit --wait` / `results`). */
export interface CellResult {
  cellIndex: number;
  jobId: string;
  artifactId: string | null;
  /** The model the cell's artifact was converted from (variants runs). */
  parentArtifactId: string | null;
  model: string | null;
  variant: string | null;
  format: string | null;
  backend: string;
  /** Pool or device the cell targets; emulated pools are labelled as such. */
  target: string;
  status: string;
  reason: string | null;
  role: string;
  sessions: number;
  iterations: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  loadMs: number | null;
  peakRssMb: number | null;
  sizeMb: number | null;
  backendUsed: string | null;
  deviceArch: string | null;
  /** Head rows of a cell with a fidelity pass: agreement with its reference, eval-set accuracy and drop (pp). */
  fidelity?: CellFidelity;
  /** The devices the cell's sessions ran on. */
  devices: string[];
  /** Runtime and its version as the reports give them (e.g. `pytorch-lite 1.13.0`). */
  runtime: string | null;
  /** GPU backends: the adapter that ran it, with its type (`llvmpipe … (cpu)` is a CPU Vulkan device). */
  gpuAdapter: string | null;
  /** The harness that measured it (name and version). */
  harness: string | null;
  /** The model file's size in exact bytes. */
  sizeBytes: number | null;
}

/** A variants run's conversion: which variant, how it ended, the artifact it made. */
export interface ConversionResult {
  variant: string;
  format: string;
  status: string;
  reason: string | null;
  artifactId: string | null;
  sizeMb: number | null;
  recipe: Record<string, unknown> | null;
}

export interface RunResults {
  runId: string;
  status: string;
  /** Variants runs: the fp32 TorchScript model the variants were converted from. */
  parent?: { artifactId: string; model: string | null; sha256: string; sizeMb: number };
  conversions?: ConversionResult[];
  cells: CellResult[];
}

import type { ArtifactRef, CellFidelity, CellFigures, CellView, RunView } from '@pocketbench/contracts';

/**
 * `GET /api/v1/runs/:id/results` as read here: a RunView whose cells may lack what the table
 * does not need (an older server's document, a hand-written one in the tests).
 */
export type ResultsDocument = Pick<RunView, 'id' | 'status'> & Partial<Pick<RunView, 'parentArtifact' | 'conversions'>> & {
  cells?: (Partial<Omit<CellView, 'artifact' | 'baselineArtifact' | 'figures' | 'baseline'>> & {
    artifact?: Partial<ArtifactRef>;
    baselineArtifact?: Partial<ArtifactRef> | null;
    figures?: Partial<CellFigures> | null;
    baseline?: Partial<CellFigures> | null;
  })[];
};

const num = (v: unknown): number | null => (v === null || v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * Normalises the api's `GET /api/v1/runs/:id/results` document into rows: one per cell and
 * role that has sessions, or one per cell (with its status and reason) when none ran.
 */
export function normalizeResults(doc: ResultsDocument): RunResults {
  const run = doc;
  const cells: CellResult[] = [];
  for (const c of doc.cells ?? []) {
    const artifact = c.artifact ?? {};
    const base = {
      cellIndex: Number(c.cellIndex ?? 0),
      jobId: String(c.jobId),
      artifactId: str(artifact.id),
      parentArtifactId: str(artifact.parentArtifactId),
      model: str(artifact.model),
      variant: str(artifact.variant),
      format: str(artifact.format),
      backend: String(c.backend),
      // Emulated pools are labelled as such wherever they are shown (the api reads `emulated` from the devices).
      target: `${String(c.deviceId ?? c.pool ?? '')}${c.emulated ? ' (emulated)' : ''}`,
      status: String(c.status),
      reason: str(c.reason),
    };
    const fidelity = c.fidelity ? { fidelity: c.fidelity } : {};
    // The api gives the head side's figures in `figures` and a paired cell's baseline in `baseline`.
    const sides: (Partial<CellFigures> & { role: string })[] = [];
    if (c.figures) sides.push({ role: 'head', ...c.figures });
    if (c.baseline && typeof c.baseline === 'object') sides.push({ role: 'baseline', ...c.baseline });
    if (!sides.length) {
      cells.push({ ...base, role: 'head', sessions: 0, iterations: 0, p50Ms: null, p90Ms: null, p99Ms: null, loadMs: null,
        peakRssMb: null, sizeMb: num(artifact.sizeBytes) === null ? null : Number(artifact.sizeBytes) / (1024 * 1024), backendUsed: null, deviceArch: null,
        devices: [], runtime: null, gpuAdapter: null, harness: null, sizeBytes: num(artifact.sizeBytes),
        ...fidelity });
      continue;
    }
    for (const f of sides) {
      // A baseline row names the baseline's own artifact (the api lists it apart from the head's).
      const own = f.role === 'baseline' && c.baselineArtifact ? c.baselineArtifact : artifact;
      const rss = num(f.peakRssBytes);
      const size = num(f.modelSizeBytes ?? own.sizeBytes);
      // A cell whose every session was `unsupported` on the device says so, with the reason.
      const allUnsupported = Number(f.sessions) > 0 && Number(f.sessionsUnsupported) === Number(f.sessions);
      // Likewise every session unstable (noisy beyond the hygiene caps): the dashboard excludes them, so say so.
      const allUnstable = Number(f.sessions) > 0 && Number(f.sessionsUnstable) === Number(f.sessions);
      cells.push({
        ...base,
        artifactId: str(own.id),
        parentArtifactId: str(own.parentArtifactId),
        model: str(own.model),
        variant: str(own.variant),
        format: str(own.format),
        status: allUnsupported ? 'unsupported' : allUnstable && base.status === 'done' ? 'unstable' : base.status,
        role: String(f.role ?? 'head'),
        reason: base.reason ?? str(f.lastError),
        sessions: Number(f.sessions ?? 0),
        iterations: Number(f.iterations ?? 0),
        p50Ms: num(f.p50Ms),
        p90Ms: num(f.p90Ms),
        p99Ms: num(f.p99Ms),
        loadMs: num(f.loadMs),
        peakRssMb: rss === null ? null : rss / (1024 * 1024),
        sizeMb: size === null ? null : size / (1024 * 1024),
        backendUsed: str(f.backendUsed),
        deviceArch: str(f.deviceArch),
        ...(f.role === 'head' ? fidelity : {}),
        devices: Array.isArray(f.deviceIds) ? f.deviceIds.map(String) : [],
        runtime: f.runtime ? [f.runtime, f.runtimeVersion].filter(Boolean).join(' ') : null,
        gpuAdapter: str(f.gpuAdapter),
        harness: str(f.harness),
        sizeBytes: size,
      });
    }
  }
  cells.sort((a, b) => a.cellIndex - b.cellIndex || a.role.localeCompare(b.role) * -1);
  const out: RunResults = { runId: String(run.id), status: String(run.status), cells };
  if (doc.parentArtifact) {
    const p = doc.parentArtifact;
    out.parent = { artifactId: p.id, model: str(p.model), sha256: p.sha256, sizeMb: p.sizeBytes / (1024 * 1024) };
  }
  if (doc.conversions?.length) {
    out.conversions = doc.conversions.map((c) => ({
      variant: c.variant, format: c.format, status: c.status, reason: str(c.reason), artifactId: c.artifact?.id ?? null,
      sizeMb: c.artifact ? c.artifact.sizeBytes / (1024 * 1024) : null, recipe: c.recipe ?? null,
    }));
  }
  return out;
}

const fmt = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));

/** A plain-text table, columns padded, one row per cell (and role for A/B cells). */
export function renderTable(results: RunResults): string {
  const header = ['cell', 'model', 'backend', 'target', 'status', 'p50 ms', 'p90 ms', 'p99 ms', 'load ms', 'peak RSS MB', 'size MB', 'backend used', 'arch', 'n'];
  // Fidelity columns only when some cell ran a fidelity pass.
  const withFidelity = results.cells.some((c) => c.fidelity);
  if (withFidelity) header.push('agree %', 'acc %', 'drop pp');
  const rows = results.cells.map((c) => [
    c.role === 'head' ? String(c.cellIndex) : `${c.cellIndex} (${c.role})`,
    [c.model, c.variant].filter(Boolean).join(' ') || '-',
    c.backend,
    c.target,
    c.status,
    fmt(c.p50Ms, 3),
    fmt(c.p90Ms, 3),
    fmt(c.p99Ms, 3),
    fmt(c.loadMs, 1),
    fmt(c.peakRssMb, 1),
    fmt(c.sizeMb, 2),
    c.backendUsed ?? '-',
    c.deviceArch ?? '-',
    String(c.iterations),
    ...(withFidelity ? [fmt(c.fidelity?.top1AgreementPct ?? null, 1), fmt(c.fidelity?.accuracyTop1Pct ?? null, 2), fmt(c.fidelity?.accuracyDropPct ?? null, 2)] : []),
  ]);
  const numeric = new Set([5, 6, 7, 8, 9, 10, 13, 14, 15, 16]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [`run ${results.runId}: ${results.status}`];
  if (results.parent && results.conversions) out.push(...renderLineage(results.parent, results.conversions));
  out.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
  // Say what ran: devices, runtime and version, the GPU adapter for GPU backends, the harness, exact size.
  for (const c of results.cells) {
    if (!c.runtime && !c.devices.length) continue;
    const parts = [c.runtime ?? '-', `on ${c.devices.join(', ') || c.target}`];
    // A CPU Vulkan device (Mesa's llvmpipe/lavapipe) must not pass for a GPU.
    if (c.gpuAdapter) parts.push(`GPU adapter ${c.gpuAdapter}${/\(cpu\)/i.test(c.gpuAdapter) ? ' — a CPU (software Vulkan), not a GPU' : ''}`);
    if (c.harness) parts.push(`harness ${c.harness}`);
    if (c.sizeBytes !== null) parts.push(`model ${c.sizeBytes} bytes`);
    out.push(`cell ${c.role === 'head' ? c.cellIndex : `${c.cellIndex} (${c.role})`} ran: ${parts.join(' · ')}`);
  }
  for (const c of results.cells) if (c.reason && c.status !== 'done') out.push(`cell ${c.cellIndex} ${c.status}: ${c.reason.replace(`${c.status}: `, '')}`);
  return out.join('\n');
}

/** `model.pt (fp32 TorchScript, 0.95 MB) → fp32 .ptl 0.94 MB · int8-static .ptl 0.25 MB (3.8× smaller) …` */
export function renderLineage(parent: NonNullable<RunResults['parent']>, conversions: ConversionResult[]): string[] {
  const fp32 = conversions.find((c) => c.variant === 'fp32' && c.format === 'ptl' && c.sizeMb !== null)?.sizeMb ?? null;
  const lines = [`variants of ${parent.model ?? 'the model'} (fp32 TorchScript, ${parent.sizeMb.toFixed(2)} MB, sha256 ${parent.sha256.slice(0, 12)}…):`];
  for (const c of conversions) {
    const what = `  → ${c.variant} .${c.format}`;
    if (c.sizeMb === null) {
      lines.push(`${what}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`);
      continue;
    }
    const ratio = fp32 && c.variant !== 'fp32' ? ` (${(fp32 / c.sizeMb).toFixed(1)}× smaller than fp32)` : '';
    lines.push(`${what}: ${c.sizeMb.toFixed(2)} MB${ratio}`);
  }
  return lines;
}
