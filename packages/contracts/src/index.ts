export * from './vocabulary.js';
export * from './jobs.js';
export * from './bench-spec.js';
export * from './bench-report.js';
export * from './bench-validation.js';
export * from './budgets.js';
export * from './fidelity.js';
export * from './npz.js';
