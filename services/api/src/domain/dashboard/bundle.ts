import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** services/dashboard, read as files (the api serves it; it never imports it). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../../dashboard/', import.meta.url));

export interface DashboardAssets {
  html: string;
  js: string;
  css: string;
  /** Content hash of js + css, used as the ETag and in the asset URLs. */
  version: string;
}

let cached: Promise<DashboardAssets> | null = null;

/**
 * Bundles the dashboard's TypeScript (and chart.js) with esbuild once per process, in memory:
 * no build step before `npm start`, and a few hundred ms on the first page load.
 */
export function dashboardAssets(): Promise<DashboardAssets> {
  cached ??= build().catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function build(): Promise<DashboardAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [`${DASHBOARD_DIR}src/main.ts`],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles[0].text;
  const css = await readFile(`${DASHBOARD_DIR}src/styles.css`, 'utf8');
  const version = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
  const template = await readFile(`${DASHBOARD_DIR}src/index.html`, 'utf8');
  const html = template.replaceAll('{{version}}', version);
  return { html, js, css, version };
}
