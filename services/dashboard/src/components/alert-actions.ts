import { api } from '../api.js';
import { h } from '../dom.js';
import type { Alert, AlertDecision } from '@pocketbench/contracts';

/** Acknowledge / Dismiss buttons for an active alert; `done` re-renders the page after the change. */
export function alertActions(a: Alert, done: () => void): HTMLElement {
  if (a.status !== 'active') return h('span', { class: 'muted small' }, a.statusNote ? `“${a.statusNote}”` : '');
  const act = (verb: 'acknowledge' | 'dismiss') => async (e: Event) => {
    const button = e.currentTarget as HTMLButtonElement;
    const box = button.closest('.alert-actions') as HTMLElement;
    box.querySelectorAll('button').forEach((b) => (b.disabled = true));
    const note = (box.querySelector('input') as HTMLInputElement).value.trim();
    try {
      await api.post<AlertDecision>(`/api/v1/alerts/${a.id}/${verb}`, note ? { note } : {});
      done();
    } catch (err) {
      box.querySelectorAll('button').forEach((b) => (b.disabled = false));
      box.append(h('span', { class: 'error', role: 'alert' }, ` ${(err as Error).message}`));
    }
  };
  return h('div', { class: 'alert-actions' },
    h('input', { type: 'text', placeholder: 'note (optional)', 'aria-label': `Note for alert ${a.id}`, maxlength: 2000 }),
    h('button', { type: 'button', onclick: act('acknowledge'), title: 'The change is real: restart the baseline from it', 'data-action': 'acknowledge' }, 'Acknowledge'),
    h('button', { type: 'button', class: 'quiet', onclick: act('dismiss'), title: 'Noise: keep the baseline as it is', 'data-action': 'dismiss' }, 'Dismiss'));
}
