export * from './detect-alerts.js';
export * from './alert-actions.js';
export * from './alert-sweeper.js';
export * from './after-run-trigger.js';
