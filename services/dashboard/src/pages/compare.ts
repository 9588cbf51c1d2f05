import { api, qs } from '../api.js';
import { h, render } from '../dom.js';
import { ago, bytes, ms, poolLabel, sha, speedup } from '../format.js';
import { go, type PageContext } from '../page.js';
import type { Artifact, ArtifactList, CompareView, RunOverview, RunsOverviewPage } from '@pocketbench/contracts';

/** Compare: how do these variants (or runs) differ in speed, size and memory on each device? */
export async function comparePage({ main, params }: PageContext): Promise<void> {
  const runs = params.get('runs');
  const artifacts = params.get('artifacts');
  const run = params.get('run');
  if (!runs && !artifacts) return picker(main);
  const v = await api.get<CompareView>(`/api/v1/compare${qs({ runs, artifacts, run })}`);
  render(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/compare' }, '← Choose other runs'), run ? [' · ', h('a', { href: `#/runs/${run}` }, 'back to the run')] : null),
    h('h1', {}, v.kind === 'artifacts' ? 'Compare variants' : 'Compare runs'),
    h('p', { class: 'answer' }, headline(v)),
    h('div', { class: 'scroll' }, table(v)),
    h('p', { class: 'legend' }, `Figures are medians over the ok sessions${run ? ' of this run' : ''}: p50 and p90 latency, peak RSS (max), model size. `,
      `Speed-up is the first column's p50 divided by this column's p50: above 1× is faster than `, h('strong', {}, v.subjects[0].label), '. ',
      'Agreement is top-1 agreement with the cell\'s fidelity reference; accuracy is top-1 on the eval set, and drop its loss against the reference in percentage points.'));
}

function headline(v: CompareView): (string | HTMLElement)[] | string {
  // The biggest speed-up of any subject against the reference, and the size change with it.
  let best: { row: CompareView['rows'][number]; col: number; s: number } | null = null;
  for (const row of v.rows) row.cells.forEach((c, col) => {
    if (col > 0 && c?.speedup && (!best || Math.abs(Math.log(c.speedup)) > Math.abs(Math.log(best.s)))) best = { row, col, s: c.speedup };
  });
  if (!best) return 'No common cells with figures to compare.';
  const b = best as { row: CompareView['rows'][number]; col: number; s: number };
  const ref = b.row.cells[0]!;
  const cell = b.row.cells[b.col]!;
  const sizeChange = ((cell.sizeBytes - ref.sizeBytes) / ref.sizeBytes) * 100;
  const where = `${b.row.model ? `${b.row.model} ${b.row.variant} · ` : ''}${poolLabel(b.row.deviceModel ?? b.row.pool, b.row.emulated)} ${b.row.backend}`;
  return [h('strong', {}, v.subjects[b.col].label), ` is `, h('strong', {}, `${speedup(b.s)} ${b.s >= 1 ? 'faster' : 'slower'}`),
    ` than ${v.subjects[0].label} on ${where}`,
    Math.abs(sizeChange) >= 1 ? `, and ${Math.abs(sizeChange).toFixed(0)} % ${sizeChange < 0 ? 'smaller' : 'larger'}` : '', '.'];
}

function table(v: CompareView): HTMLElement {
  // Agreement, accuracy and drop only when some cell ran a fidelity pass.
  const fidelity = v.rows.some((r) => r.cells.some((c) => c && (c.top1AgreementPct !== null || c.accuracyTop1Pct !== null)));
  const metrics = ['p50', 'p90', 'size', 'peak RSS', 'speed-up', ...(fidelity ? ['agreement', 'accuracy', 'drop'] : [])];
  return h('table', { class: 'data compare', 'aria-label': 'Side-by-side comparison' },
    h('thead', {},
      h('tr', {}, h('th', { scope: 'col', rowspan: 2 }, v.kind === 'runs' ? 'Cell' : 'Device · backend'),
        v.subjects.map((s, i) => h('th', { scope: 'colgroup', colspan: metrics.length, class: 'group' }, s.label, i === 0 ? ' (reference)' : '', h('br', {}), h('span', { class: 'muted small' }, s.detail)))),
      h('tr', {}, v.subjects.map(() => metrics.map((m) => h('th', { scope: 'col', class: 'num' }, m))))),
    h('tbody', {}, v.rows.map((r) => h('tr', {},
      h('th', { scope: 'row' }, r.model ? [`${r.model} ${r.variant} (${r.format})`, h('br', {})] : null,
        h('span', { class: r.model ? 'muted' : '' }, `${poolLabel(r.deviceModel ?? r.pool, r.emulated)} · ${r.backend}`)),
      r.cells.map((c, i) => c ? [
        h('td', { class: 'num group-start' }, ms(c.p50Us)), h('td', { class: 'num' }, ms(c.p90Us)),
        h('td', { class: 'num' }, bytes(c.sizeBytes)), h('td', { class: 'num' }, bytes(c.peakRssBytes)),
        h('td', { class: `num ${i > 0 && c.speedup ? (c.speedup > 1.02 ? 'c-pass' : c.speedup < 0.98 ? 'c-fail' : '') : ''}` }, i === 0 ? '1.00×' : speedup(c.speedup)),
        fidelity ? [
          h('td', { class: 'num', 'data-metric': 'agreement', title: 'top-1 agreement with the reference' }, pct(c.top1AgreementPct)),
          h('td', { class: 'num', 'data-metric': 'accuracy', title: 'top-1 accuracy on the eval set' }, pct(c.accuracyTop1Pct)),
          h('td', { class: `num ${c.accuracyDropPct !== null && c.accuracyDropPct > 2 ? 'c-fail' : ''}`, 'data-metric': 'drop', title: 'accuracy drop against the reference, percentage points' },
            c.accuracyDropPct === null ? '—' : `${c.accuracyDropPct > 0 ? '−' : c.accuracyDropPct < 0 ? '+' : '±'}${Math.abs(c.accuracyDropPct).toFixed(2)} pp`),
        ] : null,
      ] : h('td', { colspan: metrics.length, class: 'muted group-start' }, 'not measured'))))));
}

function pct(x: number | null): string {
  return x === null ? '—' : `${x.toFixed(x >= 99.95 || x === 0 ? 0 : 1)} %`;
}

async function picker(main: HTMLElement): Promise<void> {
  const [{ runs }, { artifacts }] = await Promise.all([
    api.get<RunsOverviewPage>('/api/v1/dashboard/runs?limit=40&status=done'),
    api.get<ArtifactList>('/api/v1/artifacts?limit=200'),
  ]);
  // Runs submitted without --commit are told apart by their id.
  const option = (r: RunOverview) => h('option', { value: r.id }, `${r.commitSha ? sha(r.commitSha) : `run ${r.id.slice(0, 8)}`} · ${r.project} · ${r.branch ?? '—'} · ${ago(r.createdAt)}`);
  const a = h('select', { id: 'cmp-a' }, runs.map(option));
  const b = h('select', { id: 'cmp-b' }, runs.map(option));
  if (runs.length > 1) {
    // Default: the newest run against the one before it.
    b.selectedIndex = 0;
    a.selectedIndex = 1;
  }
  render(main,
    h('h1', {}, 'Compare'),
    h('p', { class: 'answer' }, 'Put two runs side by side (the older one first), or open a run and choose “Compare variants” for the fp32 / int8-dynamic / int8-static table.'),
    h('form', { class: 'filters', onsubmit: (e: Event) => { e.preventDefault(); go('/compare', { runs: `${a.value},${b.value}` }); } },
      h('label', {}, 'Reference run ', a), h('label', {}, 'Compared run ', b), h('button', { type: 'submit' }, 'Compare')),
    artifactPicker(artifacts));
}

/**
 * Artifacts rather than runs: tick 2–6 files (e.g. the variants converted from one model, from
 * any runs) and compare their sessions across every run that measured them.
 */
function artifactPicker(artifacts: Artifact[]): HTMLElement | null {
  const runnable = artifacts.filter((a) => a.format !== 'pt');
  if (runnable.length < 2) return null;
  const byId = new Map(artifacts.map((a) => [a.id, a]));
  const models = [...new Set(runnable.map((a) => `${a.project}/${a.model}`))];
  const form = h('form', {
    class: 'artifact-picker',
    onsubmit: (e: Event) => {
      e.preventDefault();
      const ids = [...form.querySelectorAll<HTMLInputElement>('input[name=artifact]:checked')].map((i) => i.value);
      const note = form.querySelector('.picker-note')!;
      if (ids.length < 2 || ids.length > 6) return void (note.textContent = `Tick 2 to 6 artifacts (${ids.length} ticked); the first is the reference.`);
      go('/compare', { artifacts: ids.join(',') });
    },
  },
  h('h2', {}, 'Compare artifacts'),
  h('p', { class: 'muted' }, 'Variants of a model across runs: tick 2–6 (the first ticked is the reference, fp32 first reads best).'),
  models.map((key) => h('fieldset', {}, h('legend', {}, key),
    runnable.filter((a) => `${a.project}/${a.model}` === key)
      .sort((x, y) => x.variant.localeCompare(y.variant) || x.format.localeCompare(y.format))
      .map((a) => {
        const parent = a.parentArtifactId ? byId.get(a.parentArtifactId) : undefined;
        return h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'artifact', value: a.id }),
          ` ${a.variant} .${a.format} · ${bytes(a.sizeBytes)}`,
          h('span', { class: 'muted small' }, parent ? ` · converted from ${parent.filename ?? parent.model} (${sha(a.id)})` : ` · ${a.filename ?? sha(a.id)}`));
      }))),
  h('p', {}, h('button', { type: 'submit' }, 'Compare artifacts'), ' ', h('span', { class: 'picker-note', 'aria-live': 'polite' })));
  return form;
}
