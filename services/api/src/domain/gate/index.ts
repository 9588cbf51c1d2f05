export * from './evaluate-run-gate.js';
export * from './gate-error.js';
