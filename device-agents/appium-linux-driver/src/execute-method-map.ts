/** One `mobile:` method: the driver command it calls and its named parameters, in call order. */
interface ExecuteMethodDef {
  command: string;
  params?: { required?: readonly string[]; optional?: readonly string[] };
}

/**
 * `mobile:` execute methods: name → driver command and its named parameters (in call order).
 * This is the whole of what a client may run: the driver's own operations, no shell, no
 * program of the client's choosing (the Appium server runs as whoever owns the device).
 */
export const executeMethodMap = {
  'mobile: deviceInfo': { command: 'mobileDeviceInfo', params: { optional: ['harnessVersion'] } },
  'mobile: deviceState': { command: 'mobileDeviceState' },
  'mobile: pushFile': { command: 'mobilePushFile', params: { required: ['path', 'data'], optional: ['sha256'] } },
  'mobile: fileHash': { command: 'mobileFileHash', params: { required: ['path'] } },
  'mobile: removeFile': { command: 'mobileRemoveFile', params: { required: ['path'] } },
  'mobile: runHarness': {
    command: 'mobileRunHarness',
    params: { required: ['version', 'specPath', 'reportPath'], optional: ['timeoutSec'] },
  },
} as const satisfies Record<`mobile: ${string}`, ExecuteMethodDef>;
