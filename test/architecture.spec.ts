import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import ts from 'typescript';

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

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((c) => walk(c, visit));
}

function where(sf: ts.SourceFile, node: ts.Node): string {
  return `${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
}

const isExported = (n: ts.Node): boolean =>
  ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** A row type that says nothing: any, unknown, object, or a Record of any/unknown. */
function isVagueRowType(t: ts.TypeNode): boolean {
  if ([ts.SyntaxKind.AnyKeyword, ts.SyntaxKind.UnknownKeyword, ts.SyntaxKind.ObjectKeyword].includes(t.kind)) return true;
  return ts.isTypeReferenceNode(t) && t.typeName.getText() === 'Record' && (t.typeArguments ?? []).some(isVagueRowType);
}

/** Names a file imports from each module: `{ RunView: '@pocketbench/contracts', … }`. */
function importedNames(sf: ts.SourceFile): Map<string, string> {
  const out = new Map<string, string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const bindings = st.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) out.set(el.name.text, st.moduleSpecifier.text);
  }
  return out;
}

/** The one response type not in contracts: the gate's report document belongs to packages/stats (its renderers). */
const RESPONSE_TYPES_ELSEWHERE = new Map([['GateResult', '@pocketbench/stats']]);

/** Offences when a response type argument names anything but a type imported from @pocketbench/contracts. */
function responseTypeOffences(sf: ts.SourceFile, call: ts.CallExpression, typeArg: ts.TypeNode | undefined): string[] {
  if (!typeArg) return [`${where(sf, call)} reads a response without its contracts type`];
  const imports = importedNames(sf);
  const out: string[] = [];
  walk(typeArg, (t) => {
    if (ts.isTypeLiteralNode(t)) out.push(`${where(sf, t)} spells a response type inline: ${t.getText(sf)}`);
    if (ts.isTypeReferenceNode(t)) {
      const name = t.typeName.getText(sf);
      const from = imports.get(name);
      if (from !== '@pocketbench/contracts' && RESPONSE_TYPES_ELSEWHERE.get(name) !== from) {
        out.push(`${where(sf, t)} types a response as ${name}${from ? ` from ${from}` : ''}, not a @pocketbench/contracts DTO`);
      }
    }
  });
  return out;
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

  it('declares what it imports: each @pocketbench import is in its workspace\'s package.json; device agents and the dashboard depend on contracts only', () => {
    const offences: string[] = [];
    const contractsOnly = (ws: string) => ws.startsWith('device-agents/') || ws === 'services/dashboard';
    const manifests = new Map<string, { name: string; deps: Set<string> }>();
    const manifest = (ws: string) => {
      if (!manifests.has(ws)) {
        const pkg = JSON.parse(readFileSync(path.join(ws, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
        const deps = new Set(['dependencies', 'devDependencies', 'peerDependencies'].flatMap((k) => Object.keys((pkg[k] as Record<string, string>) ?? {})));
        manifests.set(ws, { name: pkg.name as string, deps });
      }
      return manifests.get(ws)!;
    };
    for (const file of ROOTS.flatMap(sourceFiles)) {
      const ws = workspaceOf(file);
      if (!existsSync(path.join(ws, 'package.json'))) continue;
      const { name, deps } = manifest(ws);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](@pocketbench\/[a-z-]+)/g)) {
        if (m[1] === name) continue;
        if (!deps.has(m[1])) offences.push(`${file} imports ${m[1]}, which ${ws}/package.json does not declare`);
        if (contractsOnly(ws) && m[1] !== '@pocketbench/contracts') offences.push(`${file} imports ${m[1]}: ${ws} depends on contracts only`);
      }
    }
    for (const [ws, { deps }] of manifests) {
      for (const d of deps) if (contractsOnly(ws) && d.startsWith('@pocketbench/') && d !== '@pocketbench/contracts') offences.push(`${ws}/package.json declares ${d}: it depends on contracts only`);
    }
    assert.ok(manifests.has('device-agents/harness'), 'the harness was checked');
    assert.deepEqual(offences, []);
  });

  it('keeps SQL in packages/db: no query calls or SQL text anywhere else', () => {
    const offences: string[] = [];
    for (const file of ROOTS.flatMap(sourceFiles)) {
      if (workspaceOf(file) === 'packages/db') continue;
      const text = readFileSync(file, 'utf8');
      if (/\.query\s*(<[^>]*>)?\s*\(/.test(text)) offences.push(`${file} calls .query()`);
      if (/['"`]\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WITH \w+ AS)\s/.test(text)) offences.push(`${file} holds SQL text`);
    }
    assert.deepEqual(offences, []);
  });

  it('imports modules by name only: no import() of a computed string, so tsc -b, madge and this test see every edge', () => {
    const offences: string[] = [];
    for (const file of ROOTS.flatMap(sourceFiles)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bimport\(\s*([^)]*)\)/g)) {
        const arg = m[1].trim();
        if (!/^(['"])[^'"]+\1$/.test(arg) && !/^`[^`$]+`$/.test(arg)) offences.push(`${file}: import(${arg})`);
      }
    }
    assert.deepEqual(offences, []);
  });

  it('types the harness boundary: runHarness(spec: BenchSpec): Promise<BenchReport>, no Record<string, unknown> or casts around it', () => {
    const deviceSession = readFileSync('services/worker/src/devices/device-session.ts', 'utf8');
    assert.match(deviceSession, /runHarness\(spec: BenchSpec\): Promise<BenchReport>;/);
    const boundary = [
      'services/worker/src/devices/device-session.ts',
      'services/worker/src/devices/webdriver-device-session.ts',
      'services/worker/src/session-processor.ts',
      ...sourceFiles('services/worker/src/session'),
    ];
    const offences: string[] = [];
    for (const file of boundary) {
      const text = readFileSync(file, 'utf8');
      // DeviceConfig's Appium capabilities are a free-form map by nature; the spec and report are not.
      const lines = text.split('\n').filter((l) => !/capabilities: Record<string, unknown>/.test(l));
      if (lines.some((l) => l.includes('Record<string, unknown>'))) offences.push(`${file} uses Record<string, unknown>`);
      if (text.includes('as unknown as')) offences.push(`${file} erases a type with "as unknown as"`);
    }
    assert.deepEqual(offences, []);
  });

  it('types every SQL statement in packages/db with its row type (query<Row>, never any/unknown; named in the dashboard read model)', () => {
    const offences: string[] = [];
    for (const file of sourceFiles('packages/db/src')) {
      const sf = parse(file);
      walk(sf, (n) => {
        if (!ts.isCallExpression(n) || !ts.isPropertyAccessExpression(n.expression) || n.expression.name.text !== 'query') return;
        const [row] = n.typeArguments ?? [];
        if (!row) offences.push(`${where(sf, n)} calls .query() without a row type`);
        else if (isVagueRowType(row)) offences.push(`${where(sf, n)} types its rows as ${row.getText(sf)}`);
        // The dashboard's read model names every row type: its pages are read by people comparing SQL and rows.
        else if (file.includes(`${path.sep}dashboard${path.sep}`) && !ts.isTypeReferenceNode(row)) {
          offences.push(`${where(sf, n)} spells its row type inline: ${row.getText(sf)}`);
        }
      });
    }
    assert.deepEqual(offences, []);
  });

  it('declares the return type of every exported function in packages/db, and uses no any there', () => {
    const offences: string[] = [];
    for (const file of sourceFiles('packages/db/src')) {
      const sf = parse(file);
      walk(sf, (n) => {
        if (n.kind === ts.SyntaxKind.AnyKeyword) offences.push(`${where(sf, n)} uses any`);
        if (ts.isFunctionDeclaration(n) && isExported(n) && !n.type) offences.push(`${where(sf, n)} ${n.name?.text}() has no declared return type`);
        if (ts.isVariableStatement(n) && isExported(n)) {
          for (const d of n.declarationList.declarations) {
            const f = d.initializer;
            if (!d.type && f && (ts.isArrowFunction(f) || ts.isFunctionExpression(f)) && !f.type) {
              offences.push(`${where(sf, d)} ${d.name.getText(sf)} has no declared return type`);
            }
          }
        }
      });
    }
    assert.deepEqual(offences, []);
  });

  it('answers every api route with a contracts DTO: sendJson<Dto>(res, body), never a bare res.json', () => {
    const offences: string[] = [];
    for (const file of sourceFiles('services/api/src/routes')) {
      const sf = parse(file);
      walk(sf, (n) => {
        if (!ts.isCallExpression(n)) return;
        const callee = n.expression;
        if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'json' && callee.expression.getText(sf) !== 'express') {
          offences.push(`${where(sf, n)} answers with a bare .json()`);
        }
        if (ts.isIdentifier(callee) && callee.text === 'sendJson') offences.push(...responseTypeOffences(sf, n, n.typeArguments?.[0]));
      });
    }
    assert.deepEqual(offences, []);
  });

  it('has the dashboard and the CLI read api responses as @pocketbench/contracts DTOs, declaring none of their own', () => {
    const dtoNames = new Set<string>();
    for (const file of sourceFiles('packages/contracts/src/api')) {
      for (const st of parse(file).statements) {
        if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && isExported(st)) dtoNames.add(st.name.text);
      }
    }
    assert.ok(dtoNames.has('RunView') && dtoNames.has('RunMatrix'), 'the DTOs live in packages/contracts/src/api');
    // The clients' transports (generic over the response type) are the only calls left untyped.
    const transports = new Set(['services/dashboard/src/api.ts', 'packages/cli/src/api-client.ts'].map(path.normalize));
    const offences: string[] = [];
    for (const file of [...sourceFiles('services/dashboard/src'), ...sourceFiles('packages/cli/src')]) {
      const sf = parse(file);
      walk(sf, (n) => {
        if ((ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) && dtoNames.has(n.name.text)) {
          offences.push(`${where(sf, n)} declares its own ${n.name.text} (a @pocketbench/contracts DTO)`);
        }
        if (transports.has(path.normalize(file)) || !ts.isCallExpression(n) || !ts.isPropertyAccessExpression(n.expression)) return;
        const method = n.expression.name.text;
        const receiver = n.expression.expression.getText(sf);
        const isApiCall = ['get', 'post', 'upload', 'request'].includes(method) && (n.typeArguments !== undefined || /^(api|client\(\))$/.test(receiver));
        if (isApiCall) offences.push(...responseTypeOffences(sf, n, n.typeArguments?.[0]));
      });
    }
    assert.deepEqual(offences, []);
  });

  it('keeps routes in one style: no access decision or hand-written check in services/api/src/routes (principal kinds and regexes live in domain/ and http/)', () => {
    const offences: string[] = [];
    for (const file of sourceFiles('services/api/src/routes')) {
      const sf = parse(file);
      walk(sf, (n) => {
        if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) offences.push(`${where(sf, n)} checks input with a regex of its own: ${n.getText(sf)}`);
        if (ts.isBinaryExpression(n) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(n.operatorToken.kind)) {
          const side = [n.left, n.right].find((x) => ts.isPropertyAccessExpression(x) && ['kind', 'via'].includes(x.name.text));
          if (side) offences.push(`${where(sf, n)} decides access itself: ${n.getText(sf)}`);
        }
        if (ts.isPropertyAccessExpression(n) && n.name.text === 'locals') offences.push(`${where(sf, n)} reads res.locals (use principalOf)`);
      });
    }
    assert.deepEqual(offences, []);
  });

  it('keeps queries behind use cases: no file in services/api/src/routes imports a value from @pocketbench/db (import type only)', () => {
    const isDb = (m: ts.Expression | undefined) => m !== undefined && ts.isStringLiteral(m) && /^@pocketbench\/db(\/|$)/.test(m.text);
    const offences: string[] = [];
    for (const file of sourceFiles('services/api/src/routes')) {
      const sf = parse(file);
      walk(sf, (n) => {
        if (ts.isImportDeclaration(n) && isDb(n.moduleSpecifier)) {
          const clause = n.importClause;
          if (!clause) return void offences.push(`${where(sf, n)} imports @pocketbench/db for its side effects`);
          if (clause.isTypeOnly) return;
          const b = clause.namedBindings;
          const values = [
            ...(clause.name ? [clause.name.text] : []),
            ...(b && ts.isNamespaceImport(b) ? [`* as ${b.name.text}`] : []),
            ...(b && ts.isNamedImports(b) ? b.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text) : []),
          ];
          if (values.length) offences.push(`${where(sf, n)} imports ${values.join(', ')} from @pocketbench/db (call a use case in domain/)`);
        }
        if (ts.isExportDeclaration(n) && isDb(n.moduleSpecifier) && !n.isTypeOnly) offences.push(`${where(sf, n)} re-exports @pocketbench/db`);
        if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && isDb(n.arguments[0])) offences.push(`${where(sf, n)} imports @pocketbench/db at run time`);
      });
    }
    assert.deepEqual(offences, []);
  });
});
