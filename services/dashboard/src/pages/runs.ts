import { api, qs } from '../api.js';
import { statusBadge, verdictBadge } from '../components/badges.js';
import { pager } from '../components/pager.js';
import { h, render } from '../dom.js';
import { ago, sha } from '../format.js';
import { go, href, type PageContext } from '../page.js';
import type { RunFilterOptions, RunOverview, RunsOverviewPage } from '@pocketbench/contracts';

const STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'];
const LIMIT = 50;

/** Runs: did the latest runs pass the gate, and which are still going? */
export async function runsPage({ main, params }: PageContext): Promise<void> {
  const filter = { project: params.get('project') ?? '', branch: params.get('branch') ?? '', status: params.get('status') ?? '' };
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [{ runs, total }, options] = await Promise.all([
    api.get<RunsOverviewPage>(`/api/v1/dashboard/runs${qs({ ...filter, limit: LIMIT, offset })}`),
    api.get<RunFilterOptions>('/api/v1/dashboard/filters'),
  ]);
  const decided = runs.filter((r) => r.verdict);
  const failed = decided.filter((r) => r.verdict === 'fail').length;
  const inconclusive = decided.filter((r) => r.verdict === 'inconclusive').length;
  const going = runs.filter((r) => r.status === 'running' || r.status === 'queued').length;

  const select = (name: keyof typeof filter, label: string, values: string[]) =>
    h('label', {}, label, ' ',
      h('select', {
        name, 'data-filter': name,
        onchange: (e: Event) => go('/runs', { ...filter, [name]: (e.target as HTMLSelectElement).value }),
      },
      h('option', { value: '' }, `all`),
      values.map((v) => h('option', { value: v, selected: v === filter[name] }, v))));

  render(main,
    h('h1', {}, 'Runs'),
    h('p', { class: 'answer' },
      runs.length === 0 ? 'No runs match these filters.'
        : [`Of these ${runs.length} runs, `, h('strong', {}, `${failed} failed`), ` the gate, ${inconclusive} ${inconclusive === 1 ? 'was' : 'were'} inconclusive`,
          `, ${decided.length - failed - inconclusive} passed`, going ? [', and ', h('strong', {}, `${going} ${going === 1 ? 'is' : 'are'} still going`)] : '', '.']),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter runs', onsubmit: (e: Event) => e.preventDefault() },
      select('project', 'Project', options.projects), select('branch', 'Branch', options.branches), select('status', 'Status', STATUSES)),
    h('table', { class: 'data', 'aria-label': 'Runs, newest first' },
      h('thead', {}, h('tr', {}, ['Verdict', 'Commit', 'Project', 'Branch', 'Status', 'Cells', 'Started'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, runs.map((r) => h('tr', { 'data-run': r.id },
        h('td', {}, verdictBadge(r.verdict)),
        // Without --commit the link would be a bare dash: the run's id is what tells runs apart then.
        h('td', {}, h('a', { href: `#/runs/${r.id}`, class: 'mono' }, r.commitSha ? sha(r.commitSha) : `run ${r.id.slice(0, 8)}`)),
        h('td', {}, r.project),
        h('td', {}, r.branch ?? '—'),
        h('td', {}, statusBadge(r.status), r.status === 'running' || r.status === 'queued'
          ? h('span', { class: 'muted' }, ` ${r.jobsFinished}/${r.jobsTotal} cells`) : null),
        h('td', { class: 'cells' }, cellCounts(r)),
        h('td', { title: r.createdAt }, ago(r.createdAt)))))),
    pager(total, offset, LIMIT, (o) => href('/runs', { ...filter, offset: o })));
}

function cellCounts(r: RunOverview): HTMLElement {
  const { pass, fail, inconclusive } = r.cells;
  if (pass + fail + inconclusive === 0) return h('span', { class: 'muted' }, '—');
  return h('span', { 'aria-label': `${pass} cells passed, ${fail} failed, ${inconclusive} inconclusive` },
    fail ? h('span', { class: 'c-fail' }, `✗ ${fail} `) : null,
    inconclusive ? h('span', { class: 'c-inconclusive' }, `? ${inconclusive} `) : null,
    h('span', { class: 'c-pass' }, `✓ ${pass}`));
}
