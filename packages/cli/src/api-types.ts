import type { CellFidelity } from '@pocketbench/contracts';
/** The parts of the api's documents (GET /api/v1/openapi.json) the CLI reads. */

export interface ArtifactDoc {
  id: string;
  sha256: string;
  format: string;
  sizeBytes: number;
  model?: string;
  variant?: string;
  parentArtifactId?: string | null;
}

/** One conversion of a variants run. */
export interface ConversionDoc {
  variant: string;
  format: string;
  status: string;
  reason?: string | null;
  unsupportedOp?: string | null;
  artifact?: ArtifactDoc | null;
  recipe?: Record<string, unknown> | null;
}

export interface FiguresDoc {
  sessions?: number;
  sessionsUnsupported?: number;
  sessionsUnstable?: number;
  iterations?: number;
  p50Ms?: number | null;
  p90Ms?: number | null;
  p99Ms?: number | null;
  loadMs?: number | null;
  peakRssBytes?: number | null;
  modelSizeBytes?: number | null;
  backendUsed?: string | null;
  deviceArch?: string | null;
  deviceIds?: string[];
  runtime?: string | null;
  runtimeVersion?: string | null;
  gpuAdapter?: string | null;
  harness?: string | null;
  lastError?: string | null;
}

export interface CellDoc {
  cellIndex: number;
  jobId: string;
  artifact?: Partial<ArtifactDoc>;
  /** A paired cell's baseline artifact (another file, often another variant). */
  baselineArtifact?: Partial<ArtifactDoc> | null;
  backend: string;
  pool: string;
  deviceId?: string | null;
  emulated?: boolean;
  status: string;
  reason?: string | null;
  sessionsPlanned?: number;
  sessionsDone?: number;
  figures?: FiguresDoc | null;
  baseline?: FiguresDoc | null;
  /** Agreement with the reference and eval-set accuracy (medians over sessions), when the cell ran a fidelity pass. */
  fidelity?: CellFidelity | null;
}

export interface ProgressDoc {
  status?: string;
  jobsTotal?: number;
  jobsFinished?: number;
  sessionsPlanned?: number;
  sessionsDone?: number;
  conversions?: ConversionDoc[];
}

export interface RunDoc {
  id: string;
  status: string;
  progress?: ProgressDoc;
  cells?: CellDoc[];
  parentArtifact?: ArtifactDoc | null;
  conversions?: ConversionDoc[];
  warnings?: string[];
}

export interface DeviceDoc {
  id: string;
  pool: string;
  emulated?: boolean;
  arch?: string;
  state: string;
  stateReason?: string | null;
  lastHeartbeatAt?: string | null;
  currentJobId?: string | null;
  backends?: string[];
  host?: string;
}

export interface CreatedTokenDoc {
  token: string;
  kind?: 'admin' | 'project' | 'worker';
  name: string;
  project: string | null;
  admin: boolean;
}
