-- pocketbench initial schema. Every table is owned by one query module in src/queries/.

CREATE TABLE projects (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Bearer tokens, stored as sha256 of the secret. project_id NULL = admin token.
CREATE TABLE tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id   uuid REFERENCES projects(id) ON DELETE CASCADE,
  name         text NOT NULL,
  token_hash   text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

CREATE TABLE models (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, name)
);

-- One file of a model. The bytes live once per sha256 in the artifact store.
CREATE TABLE artifacts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  model_id    uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  sha256      char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  format      text NOT NULL CHECK (format IN ('ptl', 'onnx', 'tflite', 'pte')),
  variant     text NOT NULL DEFAULT 'fp32',
  size_bytes  bigint NOT NULL CHECK (size_bytes > 0),
  filename    text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model_id, sha256, variant)
);
CREATE INDEX artifacts_sha256_idx ON artifacts (sha256);

CREATE TABLE devices (
  id                    text PRIMARY KEY,
  name                  text NOT NULL,
  platform              text NOT NULL CHECK (platform IN ('linux', 'android', 'ios')),
  arch                  text NOT NULL,
  abi                   text,
  soc                   text,
  os                    text,
  os_version            text,
  device_model          text NOT NULL,
  pool                  text NOT NULL,
  host                  text NOT NULL,
  emulated              boolean NOT NULL DEFAULT false,
  backends              text[] NOT NULL DEFAULT '{}',
  state                 text NOT NULL DEFAULT 'online'
                          CHECK (state IN ('online', 'busy', 'offline', 'quarantined')),
  state_reason          text,
  current_job_id        text,
  consecutive_failures  integer NOT NULL DEFAULT 0,
  last_heartbeat_at     timestamptz NOT NULL DEFAULT now(),
  heartbeat_ttl_ms      integer NOT NULL DEFAULT 15000,
  info                  jsonb NOT NULL DEFAULT '{}',
  registered_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_pool_idx ON devices (pool);

CREATE TABLE runs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id       uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  commit_sha       text,
  branch           text,
  merge_base       text,
  baseline_branch  text NOT NULL DEFAULT 'main',
  config           jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  idempotency_key  text,
  matrix           jsonb NOT NULL DEFAULT '{}',
  -- Counters kept by increments (never recounted) so concurrent job completions stay exact.
  jobs_total       integer NOT NULL DEFAULT 0,
  jobs_finished    integer NOT NULL DEFAULT 0,
  jobs_done        integer NOT NULL DEFAULT 0,
  jobs_failed      integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  UNIQUE (project_id, idempotency_key)
);
CREATE INDEX runs_project_created_idx ON runs (project_id, created_at DESC);
CREATE INDEX runs_branch_idx ON runs (project_id, branch, created_at DESC);
CREATE INDEX runs_status_idx ON runs (status, created_at DESC);

-- One cell of a run's matrix: artifact x backend x pool/device. Id is deterministic: run + cell.
CREATE TABLE jobs (
  id                    text PRIMARY KEY,
  run_id                uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  cell_index            integer NOT NULL,
  artifact_id           uuid NOT NULL REFERENCES artifacts(id),
  baseline_artifact_id  uuid REFERENCES artifacts(id),
  backend               text NOT NULL,
  pool                  text NOT NULL,
  device_id             text REFERENCES devices(id),
  status                text NOT NULL DEFAULT 'queued'
                          CHECK (status IN ('queued', 'running', 'done', 'failed', 'unsupported', 'cancelled')),
  reason                text,
  error_class           text,
  sessions_planned      integer NOT NULL,
  sessions_done         integer NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT now(),
  started_at            timestamptz,
  finished_at           timestamptz,
  UNIQUE (run_id, cell_index)
);
CREATE INDEX jobs_run_idx ON jobs (run_id);

-- Series: everything comparable over time (shared/DESIGN.md).
CREATE TABLE series (
  id               bigserial PRIMARY KEY,
  key              text NOT NULL UNIQUE,
  project_id       uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  model            text NOT NULL,
  variant          text NOT NULL,
  runtime          text NOT NULL,
  backend          text NOT NULL,
  device_model     text NOT NULL,
  os_major         text NOT NULL,
  harness_version  text NOT NULL,
  input_spec       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_project_idx ON series (project_id);

-- One harness execution on one device. Unique (job, role, session_index): a retried or
-- duplicated queue job never stores two results.
CREATE TABLE sessions (
  id                   bigserial PRIMARY KEY,
  job_id               text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  run_id               uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  role                 text NOT NULL DEFAULT 'head' CHECK (role IN ('head', 'baseline')),
  session_index        integer NOT NULL,
  attempt              integer NOT NULL DEFAULT 1,
  artifact_id          uuid NOT NULL REFERENCES artifacts(id),
  device_id            text REFERENCES devices(id),
  series_id            bigint REFERENCES series(id),
  status               text NOT NULL CHECK (status IN ('ok', 'unstable', 'error', 'unsupported')),
  error_class          text,
  error_message        text,
  backend_requested    text NOT NULL,
  backend_used         text,
  runtime              text,
  runtime_version      text,
  harness_version      text,
  device_arch          text,
  iterations_us        integer[] NOT NULL DEFAULT '{}',
  min_us               double precision,
  mean_us              double precision,
  p50_us               double precision,
  p90_us               double precision,
  p99_us               double precision,
  stddev_us            double precision,
  mad_us               double precision,
  cv                   double precision,
  load_ms              double precision,
  first_inference_ms   double precision,
  peak_rss_bytes       bigint,
  peak_rss_method      text,
  model_size_bytes     bigint,
  device_state_before  jsonb,
  device_state_after   jsonb,
  report               jsonb NOT NULL,
  source               text NOT NULL DEFAULT 'farm' CHECK (source IN ('farm', 'external')),
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, role, session_index)
);
CREATE INDEX sessions_run_idx ON sessions (run_id);
CREATE INDEX sessions_series_idx ON sessions (series_id, created_at);

-- Verdicts per cell (job_id set) and per run (job_id NULL), with their evidence.
CREATE TABLE verdicts (
  id               bigserial PRIMARY KEY,
  run_id           uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  job_id           text REFERENCES jobs(id) ON DELETE CASCADE,
  metric           text NOT NULL,
  verdict          text NOT NULL CHECK (verdict IN ('pass', 'fail', 'inconclusive')),
  head_value       double precision,
  baseline_value   double precision,
  ratio            double precision,
  ci_low           double precision,
  ci_high          double precision,
  budget           double precision,
  baseline_source  text,
  evidence         jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verdicts_run_idx ON verdicts (run_id);
