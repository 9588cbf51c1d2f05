export * from './pool.js';
export * from './migrate.js';
export * from './queryable.js';
export * from './queries/jobs.js';
export * from './queries/sessions.js';
export * from './queries/series.js';
export * from './queries/devices.js';
export * from './embedded.js';
