export * from './pool.js';
export * from './migrate.js';
export * from './queryable.js';
export * from './queries/jobs.js';
