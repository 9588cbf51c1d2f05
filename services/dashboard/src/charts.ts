// chart.js with only the parts the pages use, plus a plugin for vertical markers (alerts,
// baseline segments) that chart.js has no built-in for.
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement,
  Tooltip, type Plugin,
} from 'chart.js';

export interface Marker {
  index: number;
  color: string;
  label: string;
  dash?: number[];
}

declare module 'chart.js' {
  // The type parameter must match chart.js's own declaration to merge with it.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface PluginOptionsByType<TType> {
    markers?: { list: Marker[] };
  }
}

const markers: Plugin = {
  id: 'markers',
  afterDatasetsDraw(chart, _args, opts: { list?: Marker[] }) {
    const x = chart.scales.x;
    const { top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    for (const m of opts.list ?? []) {
      const px = x.getPixelForValue(m.index);
      if (!Number.isFinite(px)) continue;
      ctx.save();
      ctx.strokeStyle = m.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(m.dash ?? []);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = m.color;
      ctx.font = '600 11px system-ui, sans-serif';
      ctx.textAlign = px > chart.width - 140 ? 'right' : 'left';
      ctx.fillText(m.label, px + (ctx.textAlign === 'right' ? -4 : 4), top + 12);
      ctx.restore();
    }
  },
};

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, CategoryScale, Filler, Tooltip, Legend, markers);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
Chart.defaults.color = '#374151';
Chart.defaults.animation = false;

export { Chart };
