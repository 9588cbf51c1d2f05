import assert from 'node:assert/strict';
import { parseVulkanSummary, preferredAdapter } from '../../device-agents/harness/src/vulkan-probe.js';

const SUMMARY = `==========
VULKANINFO
==========
Devices:
========
GPU0:
\tapiVersion         = 1.4.305
\tdeviceType         = PHYSICAL_DEVICE_TYPE_CPU
\tdeviceName         = llvmpipe (LLVM 15.0.6, 256 bits)
\tdriverName         = llvmpipe
\tdriverInfo         = Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)
GPU1:
\tapiVersion         = 1.3.290
\tdeviceType         = PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU
\tdeviceName         = Mali-G710
\tdriverName         = panvk
`;

describe('harness vulkan probe', function () {
  it('reads every adapter from vulkaninfo --summary', function () {
    const adapters = parseVulkanSummary(SUMMARY);
    assert.equal(adapters.length, 2);
    assert.deepEqual(adapters[0], {
      name: 'llvmpipe (LLVM 15.0.6, 256 bits)', deviceType: 'cpu', driver: 'Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)', apiVersion: '1.4.305', source: 'vulkaninfo',
    });
    assert.equal(adapters[1].driver, 'panvk');
  });

  it('prefers a real GPU over a CPU implementation, as Dawn does', function () {
    assert.equal(preferredAdapter(parseVulkanSummary(SUMMARY)).name, 'Mali-G710');
  });

  it('finds no adapter in output without devices', function () {
    assert.deepEqual(parseVulkanSummary('ERROR: vkCreateInstance failed'), []);
  });
});
