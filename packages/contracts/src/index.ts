export * from './vocabulary.js';
export * from './jobs.js';
export * from './budgets.js';
