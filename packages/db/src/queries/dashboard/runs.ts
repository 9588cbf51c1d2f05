// The Runs page (#/runs): newest runs first with their verdicts, and the filter menus.
import type { RunFilterOptions, RunOverview as RunOverviewDto, RunStatus, Stored, Verdict, VerdictCounts } from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { pageOf, type CountRow, type DashboardPage } from './common.js';

export interface RunsOverviewFilter extends DashboardPage {
  project?: string;
  branch?: string;
  status?: string;
}

/** A run as the Runs page lists it (and the Run and Compare pages label it). */
export type RunOverview = Stored<RunOverviewDto, 'createdAt' | 'finishedAt'>;

/** The run columns every run label reads (runs joined with their project's name). */
export interface RunLabelRow {
  id: string;
  project: string;
  commit_sha: string | null;
  branch: string | null;
  merge_base: string | null;
  status: RunStatus;
  jobs_total: number;
  jobs_finished: number;
  created_at: Date;
  finished_at: Date | null;
}

interface RunOverviewRow extends RunLabelRow {
  verdict: Verdict | null;
  pass: number | null;
  fail: number | null;
  inconclusive: number | null;
}

/** A run's label fields; its verdict and cell counts as given. */
export function toRunOverview(r: RunLabelRow, verdict: Verdict | null = null, cells: VerdictCounts = { pass: 0, fail: 0, inconclusive: 0 }): RunOverview {
  return {
    id: r.id, project: r.project, commitSha: r.commit_sha, branch: r.branch, mergeBase: r.merge_base, status: r.status,
    jobsTotal: r.jobs_total, jobsFinished: r.jobs_finished, createdAt: r.created_at, finishedAt: r.finished_at, verdict, cells,
  };
}

/** Newest runs first, filtered by project name, branch and status; `total` counts all matches. */
export async function listRunsOverview(q: Queryable, f: RunsOverviewFilter): Promise<{ runs: RunOverview[]; total: number }> {
  const { limit, offset } = pageOf(f);
  const where = `($1::text IS NULL OR p.name = $1) AND ($2::text IS NULL OR r.branch = $2) AND ($3::text IS NULL OR r.status = $3)`;
  const params = [f.project ?? null, f.branch ?? null, f.status ?? null];
  const [list, count] = await Promise.all([
    q.query<RunOverviewRow>(
      `WITH page AS (
         SELECT r.id, p.name AS project, r.commit_sha, r.branch, r.merge_base, r.status, r.jobs_total, r.jobs_finished,
                r.created_at, r.finished_at
           FROM runs r JOIN projects p ON p.id = r.project_id
          WHERE ${where}
          ORDER BY r.created_at DESC, r.id DESC
          LIMIT $4 OFFSET $5)
       SELECT page.*, rv.verdict, cv.pass, cv.fail, cv.inconclusive
         FROM page
         LEFT JOIN LATERAL (SELECT verdict FROM verdicts WHERE run_id = page.id AND job_id IS NULL
                             ORDER BY created_at DESC, id DESC LIMIT 1) rv ON true
         LEFT JOIN LATERAL (
           SELECT count(*) FILTER (WHERE w = 0)::int AS pass, count(*) FILTER (WHERE w = 2)::int AS fail,
                  count(*) FILTER (WHERE w = 1)::int AS inconclusive
             FROM (SELECT max(CASE verdict WHEN 'fail' THEN 2 WHEN 'inconclusive' THEN 1 ELSE 0 END) AS w
                     FROM verdicts WHERE run_id = page.id AND job_id IS NOT NULL GROUP BY job_id) per_cell) cv ON true
        ORDER BY page.created_at DESC, page.id DESC`,
      [...params, limit, offset],
    ),
    q.query<CountRow>(`SELECT count(*)::int AS n FROM runs r JOIN projects p ON p.id = r.project_id WHERE ${where}`, params),
  ]);
  return {
    total: count.rows[0].n,
    runs: list.rows.map((r) =>
      toRunOverview(r, r.verdict ?? null, { pass: r.pass ?? 0, fail: r.fail ?? 0, inconclusive: r.inconclusive ?? 0 })),
  };
}

interface ProjectNameRow {
  name: string;
}

interface BranchRow {
  branch: string;
}

/** Projects and branches to filter runs by; with `projectId`, only that project and its branches. */
export async function runFilterOptions(q: Queryable, projectId?: string): Promise<RunFilterOptions> {
  const [p, b] = await Promise.all([
    q.query<ProjectNameRow>('SELECT name FROM projects WHERE $1::uuid IS NULL OR id = $1 ORDER BY name', [projectId ?? null]),
    q.query<BranchRow>(`SELECT branch FROM (SELECT DISTINCT branch FROM runs WHERE branch IS NOT NULL AND ($1::uuid IS NULL OR project_id = $1)) b
              ORDER BY branch <> 'main', branch LIMIT 500`, [projectId ?? null]),
  ]);
  return { projects: p.rows.map((r) => r.name), branches: b.rows.map((r) => r.branch) };
}
