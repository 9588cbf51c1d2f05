import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import madge from 'madge';

const ROOTS = ['packages', 'services', 'device-agents'];
const SKIP = new Set(['node_modules', 'dist', 'build', 'public']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Workspace that a file belongs to, e.g. "services/api" or "packages/db". */
function workspaceOf(file: string): string {
  return file.split(path.sep).slice(0, 2).join('/');
}

describe('architecture', () => {
  it('has no circular imports', async () => {
    const result = await madge(ROOTS, {
      fileExtensions: ['ts'],
      excludeRegExp: [/node_modules/, /\/dist\//, /\/build\//],
      tsConfig: undefined,
    });
    assert.deepEqual(result.circular(), [], 'circular imports found');
  });

  it('keeps dependencies pointing one way (CONVENTIONS.md): nothing imports a service, contracts import nothing internal', () => {
    const offences: string[] = [];
    for (const file of ROOTS.flatMap(sourceFiles)) {
      const from = workspaceOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](@pocketbench\/[a-z-]+)/g)) {
        const target = m[1];
        if (['@pocketbench/api', '@pocketbench/worker', '@pocketbench/dashboard'].includes(target)) {
          offences.push(`${file} imports the service ${target}`);
        }
        if (from === 'packages/contracts') offences.push(`${file} (contracts) imports ${target}`);
        if (from === 'packages/stats' && target !== '@pocketbench/contracts') offences.push(`${file} (stats) imports ${target}`);
      }
      for (const m of text.matchAll(/from\s*['"](\.\.\/[^'"]+)['"]/g)) {
        const resolved = path.normalize(path.join(path.dirname(file), m[1]));
        const to = workspaceOf(resolved);
        if (to !== from && !resolved.startsWith('..')) offences.push(`${file} reaches into ${to} by a relative path`);
      }
    }
    assert.deepEqual(offences, []);
  });
});
