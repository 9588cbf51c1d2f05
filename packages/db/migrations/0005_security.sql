-- Token kinds (issue 11): admin, project, and worker (fetches artifact bytes, nothing else).
-- Open local mode is a start-up setting of the api, never a state of this table.
ALTER TABLE tokens ADD COLUMN kind text;
UPDATE tokens SET kind = CASE WHEN project_id IS NULL THEN 'admin' ELSE 'project' END;
ALTER TABLE tokens ALTER COLUMN kind SET NOT NULL;
ALTER TABLE tokens ADD CONSTRAINT tokens_kind_check
  CHECK (kind IN ('admin', 'project', 'worker') AND ((kind = 'project') = (project_id IS NOT NULL)));

-- External sessions (POST /runs/:id/sessions) only into runs created open for them.
ALTER TABLE runs ADD COLUMN accepts_external boolean NOT NULL DEFAULT false;

-- A device owned by one project (NULL: a shared farm device). External sessions may name
-- only a device of the caller's own project.
ALTER TABLE devices ADD COLUMN project_id uuid REFERENCES projects(id) ON DELETE SET NULL;
