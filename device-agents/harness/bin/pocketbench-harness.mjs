#!/usr/bin/env node
// Runs the harness CLI from source under tsx (no build step), passing exit codes through.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
// tsx resolved from here: from the caller's cwd it may not be found.
const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
