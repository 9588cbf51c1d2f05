export { loadConfig, type HarnessConfig } from './config.js';
export { runSession, type RunSessionOptions } from './run-session.js';
export { probeCapabilities, type HarnessCapabilities } from './capabilities.js';
export { generateInput, mulberry32, sha256Tag } from './seeded-input.js';
export { readDeviceSnapshot, readHostFacts } from './device-snapshot.js';
export { ensurePtlRunner } from './native-build.js';
export { ensureDigitsFixtures, ensureFixtures, type DigitsFixtures, type FixtureFile, type FixtureManifest, type FixtureModel } from './fixtures.js';
export { HARNESS_NAME, HARNESS_VERSION } from './version.js';
