export * from './gate-result.js';
export * from './markdown.js';
export * from './junit.js';
