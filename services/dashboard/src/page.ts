export interface PageContext {
  main: HTMLElement;
  params: URLSearchParams;
  /** Register cleanup (charts, event streams) run when the user leaves the page. */
  onLeave(fn: () => void): void;
}

/** Navigates to a hash route with the given query (same page re-renders through hashchange). */
export function go(path: string, params: Record<string, string | number | boolean | null | undefined> = {}): void {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
  const q = u.toString();
  location.hash = `#${path}${q ? `?${q}` : ''}`;
}

export function href(path: string, params: Record<string, string | number | boolean | null | undefined> = {}): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
  const q = u.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}
