export * from './vocabulary.js';
export * from './jobs.js';
