-- Fidelity: labelled eval sets, each cell's reference, and every session's fidelity pass.

-- A labelled eval set (.npz with inputs and labels), its bytes stored once per sha256 in the
-- artifact store next to the models. Validated at upload; the facts kept here let a run be
-- refused before it starts when the set cannot fit its models.
CREATE TABLE eval_sets (
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  sha256        char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  filename      text,
  size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
  samples       integer NOT NULL CHECK (samples > 0),
  sample_shape  integer[] NOT NULL,
  input_dtype   text NOT NULL,
  min_label     integer NOT NULL,
  max_label     integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, sha256)
);
CREATE INDEX eval_sets_sha256_idx ON eval_sets (sha256);

-- The artifact whose outputs the cell's outputs are compared with (NULL: no reference).
ALTER TABLE jobs ADD COLUMN reference_artifact_id uuid REFERENCES artifacts(id);

-- The report's fidelity section (agreement per output, eval-set accuracy), kept as a column so
-- cells, the gate and cross-runtime queries read it without unpacking whole reports.
ALTER TABLE sessions ADD COLUMN fidelity jsonb;
