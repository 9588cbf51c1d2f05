import { h } from '../dom.js';

const VERDICT_TEXT: Record<string, [string, string]> = {
  pass: ['✓', 'pass'],
  fail: ['✗', 'fail'],
  inconclusive: ['?', 'inconclusive'],
};

/** Verdict as icon + word + colour, so it reads without colour vision too. */
export function verdictBadge(verdict: string | null | undefined, extra = ''): HTMLElement {
  if (!verdict) return h('span', { class: 'badge none', title: 'no verdict yet' }, '– no verdict');
  const [icon, word] = VERDICT_TEXT[verdict] ?? ['•', verdict];
  return h('span', { class: `badge v-${verdict}`, 'data-verdict': verdict },
    h('span', { 'aria-hidden': 'true' }, icon), ` ${word}${extra}`);
}

const STATUS_ICON: Record<string, string> = {
  queued: '…', running: '▶', done: '■', failed: '✗', cancelled: '⊘', unsupported: '⊘',
  online: '●', busy: '▶', offline: '○', quarantined: '⚠',
  active: '!', acknowledged: '✓', dismissed: '–',
  ok: '✓', unstable: '~', error: '✗',
};

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status s-${status}`, 'data-status': status },
    h('span', { 'aria-hidden': 'true' }, STATUS_ICON[status] ?? '•'), ` ${status}`);
}

export function directionBadge(direction: 'regression' | 'improvement', changePct: number): HTMLElement {
  const slower = direction === 'regression';
  return h('span', { class: `badge ${slower ? 'v-fail' : 'v-pass'}` },
    h('span', { 'aria-hidden': 'true' }, slower ? '▲' : '▼'),
    ` ${slower ? 'slower' : 'faster'} ${changePct > 0 ? '+' : ''}${changePct.toFixed(1)} %`);
}
