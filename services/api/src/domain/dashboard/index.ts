export * from './bundle.js';
export * from './device-state.js';
export * from './histogram.js';
export * from './views.js';
