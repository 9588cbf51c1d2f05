import { api } from '../api.js';
import { statusBadge, verdictBadge } from '../components/badges.js';
import { h, render } from '../dom.js';
import { ago, bytes, dateTime, ms, poolLabel, ratio, sha } from '../format.js';
import { href, type PageContext } from '../page.js';
import type { MatrixCell, MatrixVerdict, RunLineage, RunMatrix } from '@pocketbench/contracts';

const FINAL = new Set(['done', 'failed', 'cancelled']);

/** Run: may this change merge? Which cell is the problem, by how much? */
export async function runPage(ctx: PageContext, runId: string): Promise<void> {
  const { main } = ctx;
  let m = await api.get<RunMatrix>(`/api/v1/runs/${runId}/matrix`);
  render(main, view(m));
  if (FINAL.has(m.run.status)) return;

  // Live progress: D's SSE stream says when counters move; the matrix is re-read then (debounced).
  let timer: number | undefined;
  let closed = false;
  const reload = () => {
    clearTimeout(timer);
    timer = window.setTimeout(async () => {
      if (closed) return;
      try {
        m = await api.get<RunMatrix>(`/api/v1/runs/${runId}/matrix`);
        if (!closed) render(main, view(m, true));
      } catch { /* the next event retries */ }
    }, 250);
  };
  const events = new EventSource(`/api/v1/runs/${runId}/events`);
  const progress = (e: MessageEvent) => {
    const data = JSON.parse(e.data) as { jobsFinished: number; jobsTotal: number; status: string; conversions?: { status: string }[] };
    const bar = main.querySelector<HTMLProgressElement>('#run-progress');
    if (bar) {
      bar.max = data.jobsTotal || 1;
      bar.value = data.jobsFinished;
    }
    const label = main.querySelector('#run-progress-label');
    if (label) label.textContent = `${data.jobsFinished} of ${data.jobsTotal} cells finished · live`;
    const converted = (data.conversions ?? []).map((c) => c.status).join();
    if (data.jobsFinished !== m.run.jobsFinished || data.status !== m.run.status || converted !== (m.lineage?.conversions.map((c) => c.status).join() ?? '')) reload();
  };
  events.addEventListener('progress', progress as EventListener);
  events.addEventListener('done', (e) => {
    progress(e as MessageEvent);
    events.close();
    reload();
  });
  // EventSource cannot send a bearer token: where the stream is refused, poll instead.
  let poll: number | undefined;
  events.onerror = () => {
    if (events.readyState === EventSource.CONNECTING) return;
    events.close();
    if (!closed && !FINAL.has(m.run.status) && poll === undefined) {
      poll = window.setInterval(() => (FINAL.has(m.run.status) ? clearInterval(poll) : reload()), 3000);
    }
  };
  ctx.onLeave(() => {
    closed = true;
    clearTimeout(timer);
    clearInterval(poll);
    events.close();
  });
}

function view(m: RunMatrix, live = false): (HTMLElement | null)[] {
  const { run } = m;
  const going = !FINAL.has(run.status);
  const failing = m.cells.filter((c) => c.verdict === 'fail');
  const label = (c: MatrixCell) => {
    const a = m.artifacts.find((x) => x.id === c.artifactId);
    return `${a ? `${a.model} ${a.variant} (${a.format})` : c.artifactId} on ${poolLabel(c.pool, c.emulated)} / ${c.backend}`;
  };
  const worstFail = failing.map((c) => ({ c, v: c.verdicts.find((v) => v.verdict === 'fail')! }))
    .sort((a, b) => (b.v.ratio ?? 0) - (a.v.ratio ?? 0))[0];
  const headline = run.verdict === 'fail' && worstFail
    ? [`${failing.length} of ${m.cells.length} cells failed. Worst: `, h('strong', {}, label(worstFail.c)), ` — ${describe(worstFail.v)}.`]
    : run.verdict === 'pass' ? `All ${m.cells.length} cells are within their budgets and tolerance: this change may merge.`
      : run.verdict === 'inconclusive' ? `Not enough evidence yet for ${run.cells.inconclusive} cell${run.cells.inconclusive === 1 ? '' : 's'}; more sessions would decide.`
        : going ? `Running: ${run.jobsFinished} of ${run.jobsTotal} cells finished. Verdicts appear when the gate runs.` : 'No verdict was recorded for this run.';

  const models = [...new Set(m.artifacts.map((a) => `${a.model}\u0000${a.format}`))];
  const variantLinks = models.map((key) => {
    const [model, format] = key.split('\u0000');
    const arts = m.artifacts.filter((a) => a.model === model && a.format === format);
    return arts.length > 1
      ? h('a', { class: 'button', href: href('/compare', { artifacts: arts.map((a) => a.id).join(','), run: run.id }) }, `Compare ${model} ${format} variants`)
      : null;
  });

  return [
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, '← Runs')),
    h('h1', {}, 'Run ', h('span', { class: 'mono' }, run.commitSha ? sha(run.commitSha) : run.id.slice(0, 8)), ` on ${run.branch ?? 'no branch'}`),
    h('p', { class: 'meta' }, `${run.project} · merge base `, h('span', { class: 'mono' }, sha(run.mergeBase)),
      ` · started ${dateTime(run.createdAt)} (${ago(run.createdAt)}) · `, statusBadge(run.status)),
    h('section', { class: `answer-box v-${run.verdict ?? 'none'}`, 'aria-label': 'Verdict' },
      h('div', { class: 'big' }, verdictBadge(run.verdict)), h('p', {}, headline)),
    going ? h('div', { class: 'progress' },
      h('progress', { id: 'run-progress', max: run.jobsTotal || 1, value: run.jobsFinished, 'aria-labelledby': 'run-progress-label' }),
      h('span', { id: 'run-progress-label', 'aria-live': 'polite' }, `${run.jobsFinished} of ${run.jobsTotal} cells finished${live ? ' · live' : ''}`)) : null,
    m.lineage ? lineage(m.lineage) : null,
    h('p', { class: 'actions' },
      m.previousRunId ? h('a', { class: 'button', href: href('/compare', { runs: `${m.previousRunId},${run.id}` }) }, 'Compare with the previous run') : null,
      variantLinks),
    matrix(m),
    h('p', { class: 'legend' }, 'Each cell: verdict, p50 and p90 latency (median over the cell\u2019s sessions), the ratio of medians against the baseline with its 95 % interval, peak RSS; ',
      'with a fidelity pass, top-1 agreement with the reference and eval-set accuracy (its drop in percentage points). A failed budget, latency or fidelity, marks the cell failed. ',
      'Open a cell\u2019s series to see its history and sessions.'),
  ];
}

/** Parent → variants: what the conversion step made (or why not), with sizes against the fp32 `.ptl`. */
function lineage(l: RunLineage): HTMLElement {
  const fp32 = l.conversions.find((c) => c.variant === 'fp32' && c.format === 'ptl')?.artifact?.sizeBytes;
  const converting = l.conversions.filter((c) => c.status === 'queued' || c.status === 'running').length;
  return h('section', { class: 'lineage', 'aria-label': 'Variants converted from the submitted model' },
    h('h2', {}, 'Variants', converting ? h('span', { class: 'muted small' }, ` · converting ${l.conversions.length - converting}/${l.conversions.length} made`) : null),
    h('p', {}, h('strong', {}, l.parent.filename ?? l.parent.model), ' ',
      h('span', { class: 'muted' }, `fp32 TorchScript · ${bytes(l.parent.sizeBytes)} · sha256 ${sha(l.parent.sha256)}`)),
    h('ul', { class: 'lineage-list' }, l.conversions.map((c) => h('li', { 'data-variant': `${c.variant}.${c.format}` },
      '→ ', h('strong', {}, c.variant), ` .${c.format} `, statusBadge(c.status), ' ',
      c.artifact
        ? h('span', {}, bytes(c.artifact.sizeBytes), fp32 && c.variant !== 'fp32' ? ` (${(fp32 / c.artifact.sizeBytes).toFixed(1)}× smaller than fp32)` : '',
          c.recipe ? h('span', { class: 'muted small' }, ` · torch ${String(c.recipe.torchVersion ?? '?')}${c.recipe.calibration ? ` · calibrated on ${calibrationText(c.recipe.calibration)}` : ''}`) : null)
        : c.reason ? h('span', { class: c.status === 'unsupported' || c.status === 'failed' ? 'c-fail' : 'muted' }, c.reason) : null))));
}

function calibrationText(c: unknown): string {
  const cal = c as { source?: string; samples?: number; sha256?: string };
  return cal.source === 'file' ? `${cal.samples} samples (sha256 ${sha(cal.sha256)})` : `${cal.samples} generated inputs`;
}

function describe(v: MatrixVerdict): string {
  if (v.ratio !== null) {
    const pct = (v.ratio - 1) * 100;
    const against = (v.baselineSource ?? 'baseline').replace(/^merge-base:.*/, 'merge base').replace(/^branch:/, 'branch ');
    return `${pct >= 0 ? `${pct.toFixed(1)} % slower` : `${(-pct).toFixed(1)} % faster`} than the ${against} (${ratio(v.ratio)}, 95 % CI ${v.ciLow?.toFixed(3)}–${v.ciHigh?.toFixed(3)})`;
  }
  if (v.budget !== null && FIDELITY_LABEL[v.metric]) {
    const lower = v.metric.startsWith('min_');
    return `${FIDELITY_LABEL[v.metric]} ${v.headValue === null ? '—' : +v.headValue.toPrecision(4)} ${lower ? 'below the minimum' : 'over the budget'} ${v.budget}`;
  }
  if (v.budget !== null) return `${v.metric} ${v.headValue?.toFixed(1)} over the budget ${v.budget}`;
  return `${v.metric} failed`;
}

/** Fidelity budgets as people read them (the gate's metric names are the budgets file's fields). */
const FIDELITY_LABEL: Record<string, string> = {
  min_top1_agreement_pct: 'top-1 agreement %',
  min_cosine: 'cosine',
  max_accuracy_drop_pct: 'accuracy drop pp',
  min_snr_db: 'SNR dB',
};

function matrix(m: RunMatrix): HTMLElement {
  const cellAt = (artifactId: string, pool: string, backend: string) =>
    m.cells.find((c) => c.artifactId === artifactId && c.pool === pool && c.backend === backend);
  return h('div', { class: 'scroll' }, h('table', { class: 'matrix', 'aria-label': 'Run matrix: artifacts by pool and backend' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Artifact'), h('th', { scope: 'col' }, 'Size'),
      m.columns.map((c) => h('th', { scope: 'col' }, poolLabel(c.pool, c.emulated), h('br', {}), h('span', { class: 'muted' }, c.backend))))),
    h('tbody', {}, m.artifacts.map((a) => h('tr', {},
      h('th', { scope: 'row' }, a.model, ' ', h('strong', {}, a.variant), h('br', {}), h('span', { class: 'muted' }, a.format)),
      h('td', { class: 'num' }, bytes(a.sizeBytes)),
      m.columns.map((col) => {
        const c = cellAt(a.id, col.pool, col.backend);
        return c ? matrixCell(c) : h('td', { class: 'empty', 'aria-label': 'not in the matrix' }, h('span', { class: 'muted', 'aria-hidden': 'true' }, '—'));
      }))))));
}

/** What ran the cell: runtime and version, devices, and for a GPU backend its adapter (a CPU Vulkan device says so). */
function ranOn(c: MatrixCell): HTMLElement | null {
  if (!c.runtime && !c.devices.length) return null;
  const cpu = c.gpuAdapter !== null && /\(cpu\)/i.test(c.gpuAdapter);
  return h('p', { class: 'muted small', 'data-ran': '' },
    `${c.runtime ?? 'runtime unknown'}${c.devices.length ? ` on ${c.devices.join(', ')}` : ''}`,
    c.gpuAdapter ? [h('br', {}), `adapter ${c.gpuAdapter}`, cpu ? h('strong', { 'data-cpu-adapter': '' }, ' — a CPU (software Vulkan), not a GPU') : null] : null);
}

function matrixCell(c: MatrixCell): HTMLElement {
  const regression = c.verdicts.find((v) => v.metric === 'regression' || v.ratio !== null);
  const budgets = c.verdicts.filter((v) => v !== regression && v.budget !== null);
  const done = c.status === 'done';
  return h('td', { class: `cell v-${c.verdict ?? 'none'}`, 'data-job': c.jobId },
    h('div', { class: 'cell-head' }, c.verdict ? verdictBadge(c.verdict) : statusBadge(c.status)),
    done || c.p50Us !== null ? h('dl', { class: 'figures' },
      h('dt', {}, 'p50'), h('dd', {}, ms(c.p50Us)),
      h('dt', {}, 'p90'), h('dd', {}, ms(c.p90Us)),
      regression ? [h('dt', {}, 'ratio'), regression.ratio === null ? h('dd', { class: 'muted' }, 'no baseline')
        : h('dd', { title: `95 % CI ${regression.ciLow} – ${regression.ciHigh}, against ${regression.baselineSource ?? 'the baseline'}` },
          ratio(regression.ratio), h('span', { class: 'ci' }, ` [${regression.ciLow?.toFixed(3)}, ${regression.ciHigh?.toFixed(3)}]`))] : null,
      budgets.map((b) => [h('dt', {}, FIDELITY_LABEL[b.metric] ?? b.metric.replace(/_/g, ' ')),
        h('dd', { class: b.verdict === 'fail' ? 'c-fail' : '', 'data-metric': b.metric },
          `${b.headValue === null ? '—' : b.metric === 'min_cosine' ? b.headValue.toFixed(4) : b.headValue.toFixed(1)} ${b.metric.startsWith('min_') ? '≥' : '/'} ${b.budget}`)]),
      c.top1AgreementPct !== null && !budgets.some((b) => b.metric === 'min_top1_agreement_pct')
        ? [h('dt', {}, 'agreement'), h('dd', { 'data-metric': 'agreement' }, `${c.top1AgreementPct.toFixed(1)} %`)] : null,
      c.accuracyTop1Pct !== null ? [h('dt', {}, 'accuracy'), h('dd', { 'data-metric': 'accuracy' }, `${c.accuracyTop1Pct.toFixed(1)} %`,
        c.accuracyDropPct !== null ? h('span', { class: 'ci' }, ` (${c.accuracyDropPct >= 0 ? '−' : '+'}${Math.abs(c.accuracyDropPct).toFixed(1)} pp)`) : null)] : null,
      h('dt', {}, 'RSS'), h('dd', {}, bytes(c.peakRssBytes))) : h('p', { class: 'muted' }, c.reason ?? `${c.sessionsDone}/${c.sessionsPlanned} sessions`),
    c.sessionsUnstable ? h('p', { class: 'muted small' }, `${c.sessionsUnstable} unstable session${c.sessionsUnstable > 1 ? 's' : ''} excluded`) : null,
    ranOn(c),
    c.seriesId !== null ? h('a', { class: 'small', href: href(`/series/${c.seriesId}`, { session: c.sessionId }), 'data-series-link': '' }, 'Series & sessions →') : null);
}
