// Seeds a database with a realistic farm history for the dashboard: projects, models, four
// artifacts per model (ptl fp32 / int8-dynamic / int8-static, onnx fp32), devices in four pools,
// runs of ten cells each, sessions with iterations and device state, verdicts, and series with
// step changes that change-point detection should find. Bulk rows come from generate_series in
// a few INSERT … SELECT statements, so 1,000,000 sessions take minutes, not hours.
//
//   node --import tsx scripts/seed-dashboard.ts --database-url postgres://…/db [--runs 10000] [--sessions-per-cell 10]
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createPool, migrate, withTransaction, type Pool } from '@pocketbench/db';

export interface SeedOptions {
  /** @defaultValue 10000 */
  runs?: number;
  /** Sessions per cell; every run has 10 cells. @defaultValue 10 */
  sessionsPerCell?: number;
  /** Seed for Postgres' random(), so the same options give the same data. @defaultValue 0.42 */
  seed?: number;
  /** The newest run is left `running` with half its cells done (live progress). @defaultValue true */
  runningRun?: boolean;
}

export interface SeedSummary {
  runs: number;
  jobs: number;
  sessions: number;
  series: number;
  devices: number;
  ms: number;
}

/** Iterations per seeded session; odd so the median is one of them. */
const ITERATIONS = 31;

/** Standard-normal quantiles at (k + 0.5) / n, shuffled: a session's iterations are p50 · exp(σ·z). */
function iterationShape(n: number): number[] {
  const z = Array.from({ length: n }, (_, k) => inverseNormal((k + 0.5) / n));
  // Fixed interleaving (not sorted) so the histogram and the sequence both look like real data.
  const order = Array.from({ length: n }, (_, k) => (k * 13) % n);
  return order.map((k) => z[k]);
}

/** Acklam's rational approximation of the inverse normal CDF (|error| < 1.2e-9). */
function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -inverseNormal(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Fills an empty (migrated) database. Refuses a database that already has runs. */
export async function seedDashboard(db: Pool, opts: SeedOptions = {}): Promise<SeedSummary> {
  const runs = opts.runs ?? 10_000;
  const perCell = opts.sessionsPerCell ?? 10;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runs}`);
  if (!Number.isInteger(perCell) || perCell < 1) throw new Error(`sessionsPerCell must be a positive integer, got ${perCell}`);
  const started = Date.now();
  const shape = iterationShape(ITERATIONS);
  const sorted = [...shape].sort((x, y) => x - y);
  // Type-7 quantile positions in the sorted iterations (31 values: p10 = [3], p90 = [27]).
  const zMin = sorted[0];
  const zP90 = sorted[Math.round((ITERATIONS - 1) * 0.9)];
  const p99pos = (ITERATIONS - 1) * 0.99;
  const zP99a = sorted[Math.floor(p99pos)];
  const zP99b = sorted[Math.ceil(p99pos)];
  const p99frac = p99pos - Math.floor(p99pos);

  await withTransaction(db, async (c) => {
    const existing = await c.query('SELECT count(*)::int AS n FROM runs');
    if (existing.rows[0].n > 0) throw new Error('the database already has runs; seed an empty database');
    await c.query('SET LOCAL max_parallel_workers_per_gather = 0');
    await c.query('SELECT setseed($1)', [opts.seed ?? 0.42]);

    await c.query(`INSERT INTO projects (name) VALUES ('camera-app'), ('voice-app')`);
    await c.query(`CREATE TEMP TABLE seed_models ON COMMIT DROP AS
      SELECT m.idx, m.name, p.id AS project_id, m.base_us, m.size_fp32, gen_random_uuid() AS model_id
        FROM (VALUES (0, 'mobilenet_v2', 'camera-app', 18000.0, 14200000),
                     (1, 'kws_cnn', 'voice-app', 2600.0, 1900000),
                     (2, 'resnet18', 'camera-app', 46000.0, 46800000),
                     (3, 'conformer_s', 'voice-app', 31000.0, 38500000)) AS m(idx, name, project, base_us, size_fp32)
        JOIN projects p ON p.name = m.project`);
    await c.query(`INSERT INTO models (id, project_id, name) SELECT model_id, project_id, name FROM seed_models`);
    // Artifact kinds: 0..2 = ptl fp32 / int8-dynamic / int8-static, 3 = onnx fp32.
    await c.query(`CREATE TEMP TABLE seed_artifacts ON COMMIT DROP AS
      SELECT m.idx AS model_idx, k.kind, k.format, k.variant, gen_random_uuid() AS artifact_id,
             round(m.size_fp32 * k.size_factor)::bigint AS size_bytes, m.name || k.ext AS filename,
             encode(sha256(convert_to(m.name || '/' || k.format || '/' || k.variant, 'UTF8')), 'hex') AS sha256
        FROM seed_models m
        CROSS JOIN (VALUES (0, 'ptl', 'fp32', 1.0, '.ptl'), (1, 'ptl', 'int8-dynamic', 0.29, '-int8-dynamic.ptl'),
                           (2, 'ptl', 'int8-static', 0.26, '-int8-static.ptl'), (3, 'onnx', 'fp32', 0.99, '.onnx'))
          AS k(kind, format, variant, size_factor, ext)`);
    await c.query(`INSERT INTO artifacts (id, model_id, sha256, format, variant, size_bytes, filename)
      SELECT a.artifact_id, m.model_id, a.sha256, a.format, a.variant, a.size_bytes, a.filename
        FROM seed_artifacts a JOIN seed_models m ON m.idx = a.model_idx`);

    await c.query(`INSERT INTO devices (id, name, platform, arch, abi, soc, os, os_version, device_model, pool, host, emulated,
                                        backends, state, state_reason, last_heartbeat_at, info)
      VALUES
        ('pixel7-01', 'Pixel 7 #1', 'android', 'arm64', 'arm64-v8a', 'Google Tensor G2', 'android', '14', 'Pixel 7', 'pixel-7', 'farm-host-1', false, '{cpu,xnnpack,vulkan,nnapi}', 'online', NULL, now() - interval '4 seconds', '{}'),
        ('pixel7-02', 'Pixel 7 #2', 'android', 'arm64', 'arm64-v8a', 'Google Tensor G2', 'android', '14', 'Pixel 7', 'pixel-7', 'farm-host-1', false, '{cpu,xnnpack,vulkan,nnapi}', 'online', NULL, now() - interval '2 seconds', '{}'),
        ('qemu-arm64-01', 'qemu arm64 #1', 'linux', 'arm64', 'aarch64', 'cortex-a72 (emulated)', 'debian', '12', 'qemu-arm64', 'qemu-arm64', 'farm-host-2', true, '{cpu}', 'online', NULL, now() - interval '3 seconds', '{}'),
        ('qemu-arm64-02', 'qemu arm64 #2', 'linux', 'arm64', 'aarch64', 'cortex-a72 (emulated)', 'debian', '12', 'qemu-arm64', 'qemu-arm64', 'farm-host-2', true, '{cpu}', 'quarantined', '3 consecutive sessions failed (HarnessCrash)', now() - interval '8 seconds', '{}'),
        ('host-01', 'x86_64 host', 'linux', 'x86_64', 'x86_64', 'Intel Xeon', 'debian', '6.1.0-28-amd64', 'x86_64 host', 'host-x86_64', 'farm-host-2', false, '{cpu,vulkan}', 'online', NULL, now() - interval '1 seconds', '{}'),
        ('iphone14-01', 'iPhone 14 #1', 'ios', 'arm64', 'arm64', 'Apple A15', 'ios', '17.5', 'iPhone 14', 'iphone-14', 'farm-host-3', false, '{cpu,coreml}', 'offline', 'heartbeat stopped', now() - interval '2 hours', '{}'),
        ('pixel7-03', 'Pixel 7 #3', 'android', 'arm64', 'arm64-v8a', 'Google Tensor G2', 'android', '14', 'Pixel 7', 'pixel-7', 'farm-host-3', false, '{cpu,xnnpack,vulkan,nnapi}', 'online', NULL, now() - interval '5 seconds', '{}')`);

    // Ten cells per run: three ptl variants on Pixel 7 cpu / xnnpack and on qemu-arm64, onnx fp32 on the host.
    await c.query(`CREATE TEMP TABLE seed_cells ON COMMIT DROP AS
      SELECT row_number() OVER (ORDER BY k.kind, t.ord)::int - 1 AS cell, k.kind, t.pool, t.backend, t.device_model,
             t.os_major, t.devices, k.variant_factor * t.factor AS factor, t.temp_c
        FROM (VALUES (0, 1.0), (1, 0.72), (2, 0.55)) AS k(kind, variant_factor)
        CROSS JOIN (VALUES (0, 'pixel-7', 'cpu', 'Pixel 7', '14', ARRAY['pixel7-01','pixel7-02'], 1.0, 38.0),
                           (1, 'pixel-7', 'xnnpack', 'Pixel 7', '14', ARRAY['pixel7-01','pixel7-02'], 0.62, 39.5),
                           (2, 'qemu-arm64', 'cpu', 'qemu-arm64', '12', ARRAY['qemu-arm64-01'], 4.1, 55.0))
          AS t(ord, pool, backend, device_model, os_major, devices, factor, temp_c)
      UNION ALL
      SELECT 9, 3, 'host-x86_64', 'cpu', 'x86_64 host', '6', ARRAY['host-01'], 0.34, 48.0`);
    await c.query(`CREATE TEMP TABLE seed_series ON COMMIT DROP AS
      SELECT m.idx AS model_idx, sc.cell, nextval('series_id_seq') AS series_id, m.project_id, m.name AS model,
             a.variant, CASE a.format WHEN 'ptl' THEN 'pytorch-lite' ELSE 'onnxruntime' END AS runtime,
             sc.backend, sc.device_model, sc.os_major, m.base_us * sc.factor AS level_us
        FROM seed_models m CROSS JOIN seed_cells sc
        JOIN seed_artifacts a ON a.model_idx = m.idx AND a.kind = sc.kind`);
    await c.query(`INSERT INTO series (id, key, project_id, model, variant, runtime, backend, device_model, os_major,
                                       harness_version, input_spec)
      SELECT series_id, md5(project_id::text || model || variant || runtime || backend || device_model), project_id, model,
             variant, runtime, backend, device_model, os_major, '0.1.0',
             '{"inputs":[{"dtype":"float32","name":"input","shape":[1,3,224,224]}],"seed":1}'
        FROM seed_series`);

    // Runs round-robin over the models; every fifth is a feature branch. k = the run's position in its model's history.
    await c.query(`CREATE TEMP TABLE seed_runs ON COMMIT DROP AS
      SELECT i, gen_random_uuid() AS run_id, (i - 1) % 4 AS model_idx, (i - 1) / 4 AS k,
             now() - ($1::int - i) * interval '6 minutes' - interval '1 minute' AS created_at,
             CASE WHEN i % 5 = 0 THEN 'feature/exp-' || (i / 5 % 40) ELSE 'main' END AS branch,
             encode(sha256(convert_to('commit-' || i, 'UTF8')), 'hex') AS commit_sha,
             encode(sha256(convert_to('commit-' || greatest(i - 4, 1), 'UTF8')), 'hex') AS merge_base,
             (i = $1::int AND $2::boolean) AS running
        FROM generate_series(1, $1::int) AS i`, [runs, opts.runningRun ?? true]);
    await c.query(`INSERT INTO runs (id, project_id, commit_sha, branch, merge_base, config, status, jobs_total, jobs_finished,
                                     created_at, started_at, finished_at)
      SELECT r.run_id, m.project_id, substr(r.commit_sha, 1, 40), r.branch, substr(r.merge_base, 1, 40),
             jsonb_build_object('warmup', 5, 'iterations', ${ITERATIONS}, 'sessions', $1::int, 'threads', 1,
                                'timeoutSec', 300, 'minDurationMs', 0, 'maxSessions', 20, 'adaptive', false),
             CASE WHEN r.running THEN 'running' ELSE 'done' END, 10, CASE WHEN r.running THEN 5 ELSE 10 END,
             r.created_at, r.created_at + interval '5 seconds',
             CASE WHEN r.running THEN NULL ELSE r.created_at + interval '4 minutes' END
        FROM seed_runs r JOIN seed_models m ON m.idx = r.model_idx`, [perCell]);
    await c.query(`INSERT INTO jobs (id, run_id, cell_index, artifact_id, backend, pool, device_id, status, sessions_planned,
                                     sessions_done, created_at, started_at, finished_at)
      SELECT r.run_id || '.' || sc.cell, r.run_id, sc.cell, a.artifact_id, sc.backend, sc.pool, NULL,
             CASE WHEN NOT r.running OR sc.cell < 5 THEN 'done' WHEN sc.cell = 5 THEN 'running' ELSE 'queued' END,
             $1::int, CASE WHEN NOT r.running OR sc.cell < 5 THEN $1::int ELSE 0 END,
             r.created_at, r.created_at + sc.cell * interval '20 seconds',
             CASE WHEN NOT r.running OR sc.cell < 5 THEN r.created_at + (sc.cell + 1) * interval '20 seconds' END
        FROM seed_runs r CROSS JOIN seed_cells sc
        JOIN seed_artifacts a ON a.model_idx = r.model_idx AND a.kind = sc.kind`, [perCell]);
    // Where the main-branch history steps: some series regress by 12 % at 70 % of their history,
    // some improve by 10 % at 40 %. The newest run is a "feature" that regresses everything by 8 %.
    const maxK = Math.max(1, Math.floor((runs - 1) / 4));
    // Steps sit in recent history (inside change-point detection's default lookback of 500 sessions).
    const regressAt = maxK >= 100 ? maxK - 30 : Math.floor(maxK * 0.6);
    const improveAt = maxK >= 100 ? maxK - 45 : Math.floor(maxK * 0.3);
    await c.query(`CREATE TEMP TABLE seed_levels ON COMMIT DROP AS
      SELECT r.run_id, r.i, r.created_at, r.branch, r.running, r.merge_base, sc.cell, sc.kind, sc.devices, sc.temp_c, s.series_id,
             a.artifact_id, a.size_bytes, s.level_us
               * CASE WHEN s.series_id % 3 = 0 AND r.k >= ${regressAt} THEN 1.12 ELSE 1 END
               * CASE WHEN s.series_id % 4 = 1 AND r.k >= ${improveAt} THEN 0.90 ELSE 1 END
               * CASE WHEN r.running THEN 1.08 ELSE 1 END AS true_us,
             s.level_us AS base_us
        FROM seed_runs r CROSS JOIN seed_cells sc
        JOIN seed_series s ON s.model_idx = r.model_idx AND s.cell = sc.cell
        JOIN seed_artifacts a ON a.model_idx = r.model_idx AND a.kind = sc.kind
       WHERE NOT r.running OR sc.cell < 5`);
    // Session median = true level · exp(0.03·z) (CV 3 %); iterations = median · exp(σ·shape).
    await c.query(`INSERT INTO sessions (job_id, run_id, role, session_index, artifact_id, device_id, series_id, status,
          backend_requested, backend_used, runtime, runtime_version, harness_version, device_arch, iterations_us,
          min_us, mean_us, p50_us, p90_us, p99_us, stddev_us, mad_us, cv, load_ms, first_inference_ms, peak_rss_bytes,
          peak_rss_method, model_size_bytes, device_state_before, device_state_after, report, created_at)
      SELECT l.run_id || '.' || l.cell, l.run_id, 'head', g.s, l.artifact_id, l.devices[1 + g.s % cardinality(l.devices)],
             l.series_id, CASE WHEN g.u < 0.015 THEN 'unstable' ELSE 'ok' END,
             ser.backend, ser.backend, ser.runtime, CASE WHEN ser.runtime = 'onnxruntime' THEN '1.22.0' ELSE '2.5.1' END,
             '0.1.0', 'arm64',
             ARRAY(SELECT round(g.med * exp(g.sigma * z))::int FROM unnest($1::float8[]) AS z),
             g.med * exp(g.sigma * $2::float8), g.med * exp(g.sigma * g.sigma / 2), g.med,
             g.med * exp(g.sigma * $3::float8),
             g.med * ((1 - $6::float8) * exp(g.sigma * $4::float8) + $6::float8 * exp(g.sigma * $5::float8)),
             g.med * exp(g.sigma * g.sigma / 2) * sqrt(exp(g.sigma * g.sigma) - 1), g.med * g.sigma * 0.6745,
             sqrt(exp(g.sigma * g.sigma) - 1),
             l.base_us / 1000 * 6 + 40, l.base_us / 1000 * 2.5,
             (l.size_bytes * 2.2 + 48000000 + g.u * 3000000)::bigint, 'VmHWM', l.size_bytes,
             jsonb_build_object('takenAt', l.created_at, 'thermalZones', jsonb_build_object('cpu', round((l.temp_c + g.u * 3)::numeric, 1)),
                                'cpuFreqKhz', jsonb_build_array(1803000, 1803000, 2350000, 2850000), 'governor', 'performance',
                                'loadAvg', jsonb_build_array(0.4, 0.5, 0.5)),
             jsonb_build_object('takenAt', l.created_at + interval '20 seconds',
                                'thermalZones', jsonb_build_object('cpu', round((l.temp_c + 4 + g.u * 4)::numeric, 1)),
                                'cpuFreqKhz', jsonb_build_array(1803000, 1803000, 2350000, 2850000), 'governor', 'performance',
                                'loadAvg', jsonb_build_array(1.1, 0.7, 0.6)),
             '{"seeded": true}'::jsonb,
             l.created_at + l.cell * interval '20 seconds' + g.s * interval '1 second'
        FROM seed_levels l
        JOIN seed_series ser ON ser.series_id = l.series_id
        CROSS JOIN LATERAL (
          SELECT s, u, round(l.true_us * exp(0.03 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::float8 AS med,
                 0.04 + 0.05 * u AS sigma
            FROM (SELECT s, random() AS u FROM generate_series(0, $7::int - 1) AS s) AS x
        ) AS g`,
    [shape, zMin, zP90, zP99a, zP99b, p99frac, perCell]);

    // Verdicts as the gate stores them: `regression` (the cell's p50 ratio against the previous run of the same model, with a ±3 % interval,
    // decided by the three-way rule, δ = 5 %), a `p90_ms` budget; the run's verdict (`run`) is its worst cell.
    await c.query(`INSERT INTO verdicts (run_id, job_id, metric, verdict, head_value, baseline_value, ratio, ci_low, ci_high,
                                         budget, baseline_source, evidence, created_at)
      SELECT v.run_id, v.job_id, 'regression',
             CASE WHEN v.ratio * 0.97 > 1.05 THEN 'fail' WHEN v.ratio * 1.03 < 1.05 THEN 'pass' ELSE 'inconclusive' END,
             v.head / 1000, v.base / 1000, v.ratio, v.ratio * 0.97, v.ratio * 1.03, 5, 'merge-base:' || substr(v.merge_base, 1, 12),
             '{"seeded": true}'::jsonb, v.created_at
        FROM (SELECT l.run_id, l.run_id || '.' || l.cell AS job_id, l.true_us AS head, l.merge_base,
                     coalesce(lag(l.true_us) OVER w, l.true_us) AS base,
                     l.true_us / coalesce(lag(l.true_us) OVER w, l.true_us) * exp(0.01 * (random() - 0.5)) AS ratio,
                     l.created_at + interval '4 minutes' AS created_at
                FROM seed_levels l WINDOW w AS (PARTITION BY l.series_id ORDER BY l.i)) AS v`);
    await c.query(`INSERT INTO verdicts (run_id, job_id, metric, verdict, head_value, budget, baseline_source, evidence, created_at)
      SELECT l.run_id, l.run_id || '.' || l.cell, 'p90_ms',
             CASE WHEN l.true_us * 1.15 / 1000 > l.base_us * 1.3 / 1000 THEN 'fail' ELSE 'pass' END,
             l.true_us * 1.15 / 1000, round((l.base_us * 1.3 / 1000)::numeric, 1), 'budget', '{"seeded": true}'::jsonb,
             l.created_at + interval '4 minutes'
        FROM seed_levels l`);
    await c.query(`INSERT INTO verdicts (run_id, job_id, metric, verdict, evidence, created_at)
      SELECT v.run_id, NULL, 'run',
             CASE WHEN bool_or(v.verdict = 'fail') THEN 'fail' WHEN bool_or(v.verdict = 'inconclusive') THEN 'inconclusive' ELSE 'pass' END,
             '{"seeded": true}'::jsonb, max(v.created_at)
        FROM verdicts v JOIN seed_runs r ON r.run_id = v.run_id AND NOT r.running
       GROUP BY v.run_id`);
    await c.query(`UPDATE devices d SET state = 'busy', current_job_id = r.run_id || '.5'
        FROM seed_runs r WHERE r.running AND d.id = 'pixel7-02'`);
  });
  await db.query('ANALYZE');
  const counts = await db.query(`SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM jobs)::int AS jobs,
      (SELECT count(*) FROM sessions)::int AS sessions, (SELECT count(*) FROM series)::int AS series,
      (SELECT count(*) FROM devices)::int AS devices`);
  return { ...counts.rows[0], ms: Date.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/pocketbench_dashboard' },
      runs: { type: 'string', default: '10000' },
      'sessions-per-cell': { type: 'string', default: '10' },
      create: { type: 'boolean', default: false },
    },
  });
  const url = values['database-url']!;
  if (values.create) {
    const admin = new URL(url);
    const name = admin.pathname.slice(1);
    if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`--create: database name "${name}" must match [a-z0-9_]+`);
    admin.pathname = '/postgres';
    const p = createPool(admin.toString(), 1);
    await p.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await p.query(`CREATE DATABASE ${name}`);
    await p.end();
  }
  const db = createPool(url, 2);
  try {
    await migrate(db);
    const summary = await seedDashboard(db, { runs: Number(values.runs), sessionsPerCell: Number(values['sessions-per-cell']) });
    console.log(JSON.stringify(summary));
    await db.query('VACUUM ANALYZE');
  } finally {
    await db.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
