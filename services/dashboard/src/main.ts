// The dashboard: one page per question, hash-routed (#/runs, #/runs/:id, #/series, #/series/:id,
// #/compare, #/fleet, #/alerts), every view built from /api/v1.
import { api, HttpError, token } from './api.js';
import { h, render } from './dom.js';
import { alertsPage } from './pages/alerts.js';
import { comparePage } from './pages/compare.js';
import { fleetPage } from './pages/fleet.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import { seriesListPage } from './pages/series-list.js';
import { seriesPage } from './pages/series.js';
import { sessionPage } from './pages/session.js';
import type { PageContext } from './page.js';
import type { AlertList } from '@pocketbench/contracts';


type Page = (ctx: PageContext, ...args: string[]) => Promise<void>;

const routes: [RegExp, Page, string][] = [
  [/^\/?$/, runsPage, 'runs'],
  [/^\/runs$/, runsPage, 'runs'],
  [/^\/runs\/([0-9a-f-]{36})$/i, runPage, 'runs'],
  [/^\/series$/, seriesListPage, 'series'],
  [/^\/series\/(\d+)$/, seriesPage, 'series'],
  [/^\/sessions\/(\d+)$/, sessionPage, 'series'],
  [/^\/compare$/, comparePage, 'compare'],
  [/^\/fleet$/, fleetPage, 'fleet'],
  [/^\/alerts$/, alertsPage, 'alerts'],
];

const main = document.getElementById('main') as HTMLElement;
let leaving: (() => void)[] = [];
let generation = 0;

async function route(): Promise<void> {
  for (const fn of leaving) fn();
  leaving = [];
  const gen = ++generation;
  const hash = location.hash.replace(/^#/, '') || '/runs';
  const [path, query = ''] = hash.split('?');
  const match = routes.find(([re]) => re.test(path));
  document.querySelectorAll<HTMLAnchorElement>('[data-nav]').forEach((a) => {
    if (match && a.dataset.nav === match[2]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  const ctx: PageContext = { main, params: new URLSearchParams(query), onLeave: (fn) => leaving.push(fn) };
  if (!match) {
    render(main, h('h1', {}, 'Page not found'), h('p', {}, 'Nothing lives at ', h('code', {}, hash), '. ', h('a', { href: '#/runs' }, 'Go to the runs.')));
    return;
  }
  try {
    await match[1](ctx, ...(path.match(match[0])?.slice(1) ?? []));
    if (gen === generation) document.title = `${main.querySelector('h1')?.textContent ?? 'pocketbench'} · pocketbench`;
  } catch (err) {
    if (gen !== generation) return;
    showError(err);
  }
  void refreshAlertCount();
}

function showError(err: unknown): void {
  const e = err as Error;
  const unauthorized = err instanceof HttpError && (err.status === 401 || err.status === 403);
  render(main,
    h('h1', {}, unauthorized ? 'Sign-in needed' : err instanceof HttpError && err.status === 404 ? 'Not found' : 'Something went wrong'),
    h('p', { class: 'error', role: 'alert' }, e.message),
    unauthorized ? h('p', {}, h('button', { type: 'button', onclick: openTokenDialog }, 'Enter an API token')) : null);
}

async function refreshAlertCount(): Promise<void> {
  const badge = document.getElementById('alert-count');
  if (!badge) return;
  try {
    const { counts } = await api.get<AlertList>('/api/v1/alerts?status=active&limit=1');
    badge.textContent = String(counts.active);
    badge.hidden = counts.active === 0;
    badge.setAttribute('aria-label', `${counts.active} active`);
  } catch {
    badge.hidden = true;
  }
}

function openTokenDialog(): void {
  const dialog = document.getElementById('token-dialog') as HTMLDialogElement;
  const input = document.getElementById('token-input') as HTMLInputElement;
  input.value = token.get() ?? '';
  dialog.showModal();
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save') token.set(input.value.trim() || null);
    if (dialog.returnValue === 'clear') token.set(null);
    void route();
  }, { once: true });
}

document.getElementById('token-button')?.addEventListener('click', openTokenDialog);
window.addEventListener('hashchange', () => void route());
void route();
