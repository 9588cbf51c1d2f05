// Speed of the regression statistics: a run of 1,000 cells × 20 sessions per side × 200
// iterations decided as the gate decides (each session summarised once by sessionPoint,
// decideCell per cell — paired, slow-session screen, t interval —, then Benjamini–Hochberg
// across the run with adjustRegressionFamily) in < 2 s.
// Run: node --import tsx bench/stats.ts [cells] [sessionsPerSide] [iterations]
import { adjustRegressionFamily, createRng, decideCell, eDivisive, pairedSessionOrder, sessionPoint, summarize } from '@pocketbench/stats';

const cells = Number(process.argv[2] ?? 1000);
const perSide = Number(process.argv[3] ?? 20);
const iterations = Number(process.argv[4] ?? 200);

const rng = createRng(1);
const gauss = () => Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
const side = (median: number) =>
  Array.from({ length: perSide }, () => {
    const m = median * Math.exp(0.03 * gauss());
    return Array.from({ length: iterations }, () => Math.round(m * Math.exp(0.05 * gauss())));
  });
const data = Array.from({ length: cells }, (_, c) => ({ head: side(c % 10 === 0 ? 11_000 : 10_000), baseline: side(10_000) }));

/** Wall time, and CPU time of this process (the machine is shared: wall time includes waiting for a core). */
function time<T>(fn: () => T): { ms: number; cpuMs: number; value: T } {
  const t = performance.now();
  const c = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(c);
  return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, value };
}

const points = (sessions: number[][], role: 'head' | 'baseline') => sessions.map((it, k) => sessionPoint(k, it, { order: pairedSessionOrder(role, k) }));
const run = () => {
  const checks = data.map((d) => decideCell(points(d.head, 'head'), points(d.baseline, 'baseline'), { family: cells }).checks[0]);
  return adjustRegressionFamily(checks);
};
// One untimed warm-up pass on a few cells so the figure is steady-state JIT, as in a long-lived api.
for (let c = 0; c < Math.min(20, cells); c++) decideCell(points(data[c].head, 'head'), points(data[c].baseline, 'baseline'));

const decide = time(run);
const summaries = time(() => {
  let n = 0;
  for (const d of data) for (const s of [...d.head, ...d.baseline]) n += summarize(s).n;
  return n;
});
const series = Array.from({ length: 1000 }, (_, i) => (i < 600 ? 100 : 104) * (1 + 0.01 * gauss()));
const changePoints = time(() => eDivisive(series));

const counts = { pass: 0, fail: 0, inconclusive: 0 };
for (const c of decide.value) counts[c.verdict]++;
console.log(
  JSON.stringify(
    {
      cells,
      sessionsPerSide: perSide,
      iterations,
      decideMs: Math.round(decide.ms),
      decideCpuMs: Math.round(decide.cpuMs),
      verdicts: counts,
      summarizeAllSessionsMs: Math.round(summaries.ms),
      eDivisive1000PointsMs: Math.round(changePoints.ms),
      changePoints: changePoints.value,
      node: process.version,
    },
    null,
    2,
  ),
);

const TARGET_MS = 2000;
const met = decide.ms < TARGET_MS;
console.log(`target: ${cells} cells decided in < ${TARGET_MS} ms — ${met ? 'met' : 'MISSED'} (${Math.round(decide.ms)} ms wall, ${Math.round(decide.cpuMs)} ms CPU)`);
if (!met && cells === 1000) process.exitCode = 1;
