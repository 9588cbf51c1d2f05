export const ms = (us: number | null | undefined, digits?: number): string => {
  if (us === null || us === undefined || !Number.isFinite(us)) return '—';
  const v = us / 1000;
  const d = digits ?? (v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${v.toFixed(d)} ms`;
};

export const bytes = (b: number | null | undefined): string => {
  if (b === null || b === undefined || !Number.isFinite(b)) return '—';
  if (b >= 1024 ** 3) return `${(b / 1024 ** 3).toFixed(2)} GB`;
  if (b >= 1024 ** 2) return `${(b / 1024 ** 2).toFixed(1)} MB`;
  if (b >= 1024) return `${(b / 1024).toFixed(0)} kB`;
  return `${b} B`;
};

export const pct = (p: number | null | undefined, digits = 1): string =>
  p === null || p === undefined || !Number.isFinite(p) ? '—' : `${p > 0 ? '+' : ''}${p.toFixed(digits)} %`;

export const ratio = (r: number | null | undefined): string => (r === null || r === undefined ? '—' : `×${r.toFixed(3)}`);

export const speedup = (s: number | null | undefined): string => (s === null || s === undefined ? '—' : `${s.toFixed(2)}×`);

export const sha = (s: string | null | undefined): string => (s ? s.slice(0, 8) : '—');

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export const dateTime = (iso: string | null | undefined): string => {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
};

/** Emulated pools (and device models) are labelled as such wherever they are shown: `qemu-arm64 (emulated)`. */
export const poolLabel = (pool: string, emulated: boolean | undefined): string => (emulated ? `${pool} (emulated)` : pool);
