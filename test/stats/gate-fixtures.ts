// Rows for gate tests, inserted directly into a test database: a project, artifacts, runs,
// cells, series and sessions with simulated iteration times.
import { randomUUID, createHash } from 'node:crypto';
import type { Pool } from '@pocketbench/db';
import { createRng } from '@pocketbench/stats';

export interface GateFixture {
  db: Pool;
  projectId: string;
  modelId: string;
}

export async function createGateFixture(db: Pool, projectName = `p${randomUUID().slice(0, 8)}`): Promise<GateFixture> {
  const { rows: p } = await db.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [projectName]);
  const { rows: m } = await db.query<{ id: string }>(`INSERT INTO models (project_id, name) VALUES ($1, 'mobilenet_v2') RETURNING id`, [p[0].id]);
  return { db, projectId: p[0].id, modelId: m[0].id };
}

export async function insertArtifact(f: GateFixture, opts: { sizeBytes: number; variant?: string; tag?: string }): Promise<string> {
  const sha = createHash('sha256').update(opts.tag ?? randomUUID()).digest('hex');
  const { rows } = await f.db.query<{ id: string }>(
    `INSERT INTO artifacts (model_id, sha256, format, variant, size_bytes) VALUES ($1, $2, 'onnx', $3, $4) RETURNING id`,
    [f.modelId, sha, opts.variant ?? 'fp32', opts.sizeBytes],
  );
  return rows[0].id;
}

export interface RunOptions {
  status?: string;
  commit?: string | null;
  branch?: string | null;
  mergeBase?: string | null;
  createdAt?: Date;
  jobsTotal?: number;
}

export async function insertRun(f: GateFixture, o: RunOptions = {}): Promise<string> {
  const { rows } = await f.db.query<{ id: string }>(
    `INSERT INTO runs (project_id, commit_sha, branch, merge_base, config, status, jobs_total, jobs_finished, created_at)
     VALUES ($1, $2, $3, $4, '{}', $5, $6, $7, $8) RETURNING id`,
    [f.projectId, o.commit ?? null, o.branch ?? null, o.mergeBase ?? null, o.status ?? 'done', o.jobsTotal ?? 1,
      o.status === 'running' ? 0 : (o.jobsTotal ?? 1), o.createdAt ?? new Date()],
  );
  return rows[0].id;
}

export async function insertJob(
  f: GateFixture,
  runId: string,
  o: { cellIndex?: number; artifactId: string; baselineArtifactId?: string | null; status?: string; backend?: string; pool?: string },
): Promise<string> {
  const id = `${runId}.${o.cellIndex ?? 0}`;
  await f.db.query(
    `INSERT INTO jobs (id, run_id, cell_index, artifact_id, baseline_artifact_id, backend, pool, status, sessions_planned)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 6)`,
    [id, runId, o.cellIndex ?? 0, o.artifactId, o.baselineArtifactId ?? null, o.backend ?? 'cpu', o.pool ?? 'host-x86_64', o.status ?? 'done'],
  );
  return id;
}

export async function insertSeries(f: GateFixture, key = randomUUID()): Promise<number> {
  const { rows } = await f.db.query<{ id: number }>(
    `INSERT INTO series (key, project_id, model, variant, runtime, backend, device_model, os_major, harness_version, input_spec)
     VALUES ($1, $2, 'mobilenet_v2', 'fp32', 'onnxruntime', 'cpu', 'x86_64 host', '6', '1.0.0', 'input:1x3x224x224') RETURNING id`,
    [key, f.projectId],
  );
  return Number(rows[0].id);
}

export interface SessionsOptions {
  runId: string;
  jobId: string;
  artifactId: string;
  seriesId?: number | null;
  role?: 'head' | 'baseline';
  count: number;
  /** Median iteration time of the sessions, µs. */
  medianUs: number;
  status?: string;
  seed: number;
  firstIndex?: number;
  iterations?: number;
  loadMs?: number;
  peakRssBytes?: number;
  createdAt?: Date;
}

/** Sessions with lognormal iterations (σ 0.05) and session medians varying with CV 3 %. */
export async function insertSessions(f: GateFixture, o: SessionsOptions): Promise<void> {
  const rng = createRng(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
  for (let i = 0; i < o.count; i++) {
    const m = o.medianUs * Math.exp(0.03 * gauss());
    const its = Array.from({ length: o.iterations ?? 60 }, () => Math.round(m * Math.exp(0.05 * gauss())));
    await f.db.query(
      `INSERT INTO sessions (job_id, run_id, role, session_index, artifact_id, series_id, status, backend_requested, backend_used,
                             iterations_us, load_ms, peak_rss_bytes, model_size_bytes, report, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'cpu', 'cpu', $8, $9, $10, NULL, '{}', $11)`,
      [o.jobId, o.runId, o.role ?? 'head', (o.firstIndex ?? 0) + i, o.artifactId, o.seriesId ?? null, o.status ?? 'ok', its,
        o.loadMs ?? 20 + i, o.peakRssBytes ?? 40 * 1024 * 1024, o.createdAt ?? new Date()],
    );
  }
}
