-- Variants from one model: an fp32 TorchScript `.pt` (format 'pt') is the parent artifact; a
-- conversion job turns it into fp32 / int8-dynamic / int8-static `.ptl` (and `.onnx`) artifacts,
-- each linked to its parent with the recipe that made it.

ALTER TABLE artifacts DROP CONSTRAINT IF EXISTS artifacts_format_check;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_format_check CHECK (format IN ('ptl', 'onnx', 'tflite', 'pte', 'pt'));
ALTER TABLE artifacts ADD COLUMN parent_artifact_id uuid REFERENCES artifacts(id);
-- How the artifact was made from its parent: torch version, qconfig, calibration hash, …
ALTER TABLE artifacts ADD COLUMN recipe jsonb;
CREATE INDEX artifacts_parent_idx ON artifacts (parent_artifact_id) WHERE parent_artifact_id IS NOT NULL;

-- Calibration inputs for int8-static (an .npz), stored by sha256 in the artifact store.
CREATE TABLE calibration_sets (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  sha256        char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
  array_name    text NOT NULL,
  dtype         text NOT NULL,
  shape         integer[] NOT NULL,
  filename      text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, sha256)
);

-- One conversion of a parent into one variant: the system of record for the conversion queue
-- (a lost queue is rebuilt from the rows not finished). The id is deterministic from the parent
-- and the recipe key, so the same request is one row, one queue job and one output (the cache).
CREATE TABLE conversions (
  id                   text PRIMARY KEY,
  parent_artifact_id   uuid NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
  variant              text NOT NULL CHECK (variant IN ('fp32', 'int8-dynamic', 'int8-static')),
  format               text NOT NULL CHECK (format IN ('ptl', 'onnx')),
  -- Canonical text of everything that decides the output (recipe, format, input shape, calibration, seed, converter version).
  recipe_key           text NOT NULL,
  input_shape          integer[] NOT NULL,
  calibration_set_id   uuid REFERENCES calibration_sets(id),
  calibration_samples  integer,
  status               text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'done', 'failed', 'unsupported')),
  reason               text,
  error_class          text,
  unsupported_op       text,
  attempts             integer NOT NULL DEFAULT 0,
  output_artifact_id   uuid REFERENCES artifacts(id),
  worker_host          text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  finished_at          timestamptz,
  UNIQUE (parent_artifact_id, recipe_key)
);
CREATE INDEX conversions_open_idx ON conversions (created_at) WHERE status IN ('queued', 'running');

-- The conversions a run waits for. `slot` orders the run's variants; the cells of slot k get
-- cell indices k × cellsPerSlot … and are stored (planned_at) once the conversion has finished.
CREATE TABLE run_conversions (
  run_id          uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  slot            integer NOT NULL,
  conversion_id   text NOT NULL REFERENCES conversions(id) ON DELETE CASCADE,
  planned_at      timestamptz,
  PRIMARY KEY (run_id, slot)
);
CREATE INDEX run_conversions_conversion_idx ON run_conversions (conversion_id);
