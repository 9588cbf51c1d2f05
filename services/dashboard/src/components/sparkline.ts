import { svg } from '../dom.js';

/** A small inline line of values (oldest → newest), labelled for screen readers. */
export function sparkline(values: number[], label: string, width = 120, height = 28): SVGElement {
  const el = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'spark' });
  const title = svg('title', {});
  title.textContent = label;
  el.append(title);
  if (values.length < 2) return el;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * (width - 4) + 2).toFixed(1)},${(height - 3 - ((v - min) / span) * (height - 6)).toFixed(1)}`);
  el.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }));
  return el;
}
