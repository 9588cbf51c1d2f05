import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const HARNESS_NAME = 'pocketbench-reference';
/** Part of a series' identity: numbers from different harness versions are never compared. */
export const HARNESS_VERSION: string = pkg.version;
