import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { REPO_ROOT } from '../config.js';
import { CliError, EXIT, config } from '../context.js';

const BUNDLE_SCRIPT = path.join(REPO_ROOT, 'device-agents', 'harness', 'native', 'bundle.sh');

/** Options of `pocketbench harness-bundle`. */
export interface HarnessBundleOptions {
  /** Target architecture: `aarch64` (phones, boards, the qemu-arm64 device) or `x86_64`. */
  arch: string;
  /** Directory to write the bundle to (replaced if it exists). */
  out: string;
  /** Comma-separated runtimes to include. @defaultValue 'onnxruntime,pytorch-lite' */
  runtimes: string;
}

export function registerHarnessBundleCommand(program: Command): void {
  program
    .command('harness-bundle')
    .description('build the self-contained native harness for an architecture: its own loader and libraries, a POSIX sh entry (works from adb shell), manifest.json')
    .requiredOption('--arch <arch>', 'aarch64 or x86_64')
    .requiredOption('--out <dir>', 'directory to write the bundle to (replaced)')
    .option('--runtimes <list>', 'runtimes to include: onnxruntime, pytorch-lite (a bundle without pytorch-lite is ~30 MB instead of ~500 MB)', 'onnxruntime,pytorch-lite')
    .addHelpText('after', `
Example: pocketbench harness-bundle --arch aarch64 --out /tmp/pb-arm64
         adb push /tmp/pb-arm64 /data/local/tmp/pocketbench && adb shell sh /data/local/tmp/pocketbench/pocketbench-harness probe`)
    .action(async (opts: HarnessBundleOptions) => {
      if (!['aarch64', 'x86_64'].includes(opts.arch)) throw new CliError(`--arch must be aarch64 or x86_64, not '${opts.arch}'`, EXIT.usage);
      const out = path.resolve(opts.out);
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn('bash', [BUNDLE_SCRIPT, '--arch', opts.arch, '--out', out, '--runtimes', opts.runtimes, '--data-dir', config().dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', reject);
        child.on('exit', (c) => resolve(c ?? 1));
      });
      if (code !== 0) throw new CliError(`building the ${opts.arch} harness bundle failed (exit ${code}); the reason is printed above`, EXIT.failed);
      const m = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as { version: string; sizeBytes: number; files: string[]; entry: string; runtimes: Record<string, string | null> };
      const runtimes = Object.entries(m.runtimes).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(`${out}\n  version ${m.version} (${opts.arch}), ${m.files.length} files, ${m.sizeBytes} bytes (${(m.sizeBytes / 1048576).toFixed(1)} MB)\n  runtimes: ${runtimes}\n  run: sh ${path.join(out, m.entry)} run --spec SPEC.json --out REPORT.json\n`);
    });
}
