/** One `mobile:` method: the driver command it calls and its named parameters, in call order. */
interface ExecuteMethodDef {
  command: string;
  params?: { required?: readonly string[]; optional?: readonly string[] };
}

/** `mobile:` execute methods: name → driver command and its named parameters (in call order). */
export const executeMethodMap = {
  'mobile: shell': { command: 'mobileShell', params: { required: ['command'], optional: ['args', 'timeoutMs', 'cwd'] } },
  'mobile: deviceInfo': { command: 'mobileDeviceInfo', params: { optional: ['harnessVersion'] } },
  'mobile: deviceState': { command: 'mobileDeviceState' },
  'mobile: pushFile': { command: 'mobilePushFile', params: { required: ['path', 'data'], optional: ['sha256'] } },
  'mobile: fileHash': { command: 'mobileFileHash', params: { required: ['path'] } },
  'mobile: runHarness': {
    command: 'mobileRunHarness',
    params: { required: ['version', 'specPath', 'reportPath'], optional: ['timeoutSec'] },
  },
} as const satisfies Record<`mobile: ${string}`, ExecuteMethodDef>;
