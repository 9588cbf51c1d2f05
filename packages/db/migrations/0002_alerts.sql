-- Post-merge alerts (change points over a series' session medians), baseline segments, and
-- the indexes the dashboard's pages need to answer in < 300 ms with 1,000,000 sessions.

-- One change point found in a series. Unique per (series, first session after the change) so
-- running the detection again never opens the same alert twice.
CREATE TABLE alerts (
  id                   bigserial PRIMARY KEY,
  series_id            bigint NOT NULL REFERENCES series(id) ON DELETE CASCADE,
  -- First session after the change; its run names the suspect commit.
  session_id           bigint NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  run_id               uuid REFERENCES runs(id) ON DELETE SET NULL,
  commit_sha           text,
  previous_commit_sha  text,
  status               text NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'acknowledged', 'dismissed')),
  direction            text NOT NULL CHECK (direction IN ('regression', 'improvement')),
  metric               text NOT NULL DEFAULT 'p50_us',
  before_value         double precision NOT NULL,
  after_value          double precision NOT NULL,
  change_pct           double precision NOT NULL,
  p_value              double precision,
  sessions_before      integer NOT NULL,
  sessions_after       integer NOT NULL,
  changed_at           timestamptz NOT NULL,
  detected_at          timestamptz NOT NULL DEFAULT now(),
  status_changed_at    timestamptz,
  status_note          text,
  UNIQUE (series_id, session_id)
);
CREATE INDEX alerts_status_idx ON alerts (status, detected_at DESC);
CREATE INDEX alerts_series_idx ON alerts (series_id, changed_at);

-- An acknowledged change point starts a new baseline segment: historical baselines of the
-- series use only sessions created at or after the latest segment's starts_at.
CREATE TABLE baseline_segments (
  id                bigserial PRIMARY KEY,
  series_id         bigint NOT NULL REFERENCES series(id) ON DELETE CASCADE,
  starts_at         timestamptz NOT NULL,
  start_session_id  bigint REFERENCES sessions(id) ON DELETE SET NULL,
  alert_id          bigint REFERENCES alerts(id) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX baseline_segments_series_idx ON baseline_segments (series_id, starts_at DESC);

-- Where each series' current baseline segment starts (no row: the whole history counts).
CREATE VIEW series_baseline_start AS
  SELECT series_id, max(starts_at) AS starts_at FROM baseline_segments GROUP BY series_id;

-- Dashboard: runs list without filters, fleet's latest session per device, compare by artifact.
CREATE INDEX runs_created_idx ON runs (created_at DESC);
CREATE INDEX sessions_device_created_idx ON sessions (device_id, created_at DESC);
CREATE INDEX sessions_artifact_created_idx ON sessions (artifact_id, created_at DESC);
CREATE INDEX verdicts_job_idx ON verdicts (job_id);
