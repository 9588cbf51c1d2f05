// The api's response bodies (DTOs), defined once: the api types its routes with them, the
// dashboard and the CLI read them. JSON shapes: instants are ISO strings.
export * from './wire.js';
export * from './runs.js';
export * from './dashboard.js';
export * from './resources.js';
