import { execFile } from 'node:child_process';

export interface VulkanAdapter {
  name: string;
  deviceType?: string;
  driver?: string;
  apiVersion?: string;
  source: string;
}

export type VulkanProbe = { ok: true; adapters: VulkanAdapter[] } | { ok: false; reason: string };

/** Parses `vulkaninfo --summary`: one adapter per "GPUn:" block. */
export function parseVulkanSummary(text: string): VulkanAdapter[] {
  const section = text.split(/^Devices:\s*$/m)[1] ?? '';
  return section
    .split(/^GPU\d+:\s*$/m)
    .slice(1)
    .map((block) => {
      const field = (k: string) => new RegExp(`^\\s*${k}\\s*=\\s*(.+)$`, 'm').exec(block)?.[1].trim();
      return {
        name: field('deviceName') ?? 'unknown',
        deviceType: field('deviceType')?.replace(/^PHYSICAL_DEVICE_TYPE_/, '').toLowerCase(),
        driver: field('driverInfo') ?? field('driverName'),
        apiVersion: field('apiVersion'),
        source: 'vulkaninfo',
      };
    })
    .filter((a) => a.name !== 'unknown');
}

/** Which Vulkan devices the loader sees; a CPU-type device (lavapipe) counts, and says so. */
export function probeVulkan(vulkaninfoPath: string, env: Record<string, string>): Promise<VulkanProbe> {
  return new Promise((resolve) => {
    execFile(vulkaninfoPath, ['--summary'], { env, timeout: 20_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const adapters = parseVulkanSummary(String(stdout));
      if (adapters.length > 0) return resolve({ ok: true, adapters });
      const why = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT'
        ? `${vulkaninfoPath} not found (Debian package vulkan-tools)`
        : String(stderr).trim().split('\n').slice(-2).join(' ') || err?.message || 'no devices listed';
      resolve({ ok: false, reason: `no Vulkan device: ${why}` });
    });
  });
}

/** Dawn prefers discrete, then integrated, then anything (lavapipe is type "cpu"). */
export function preferredAdapter(adapters: VulkanAdapter[]): VulkanAdapter {
  const rank = (a: VulkanAdapter) => ['discrete_gpu', 'integrated_gpu', 'virtual_gpu', 'cpu'].indexOf(a.deviceType ?? '') >>> 0;
  return [...adapters].sort((a, b) => rank(a) - rank(b))[0];
}
