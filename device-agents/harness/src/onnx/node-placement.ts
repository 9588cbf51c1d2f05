/**
 * Which execution provider ran each node, read from ONNX Runtime's own profile (the Chrome-trace
 * JSON `enableProfiling` writes: one `cat: "Node"` event per kernel run, with `args.provider`).
 * This is the evidence for `backend.used`: the request says what we asked for, the profile says
 * what the runtime did.
 */
export interface NodePlacement {
  node: string;
  op: string;
  provider: string;
}

/** The execution provider each backend must use for every compute node. */
export const PROVIDER_FOR_BACKEND: Record<string, string> = {
  cpu: 'CPUExecutionProvider',
  vulkan: 'WebGpuExecutionProvider',
};

// Copies between host and device memory belong to the device EP's plumbing, not to the model.
const MEMCPY_OPS = new Set(['MemcpyFromHost', 'MemcpyToHost']);

/** One entry per node (the first run of it), in execution order. Throws on a file that is not a profile. */
export function placementsFromProfile(profileJson: string): NodePlacement[] {
  const events: unknown = JSON.parse(profileJson);
  if (!Array.isArray(events)) throw new Error('ONNX Runtime profile is not a JSON array of trace events');
  const seen = new Map<string, NodePlacement>();
  for (const e of events as { cat?: unknown; name?: unknown; args?: { op_name?: unknown; provider?: unknown } }[]) {
    if (e?.cat !== 'Node' || typeof e.args?.provider !== 'string') continue;
    // Event names are "<node name>_kernel_time" (plus fence events, which carry no provider).
    const node = String(e.name ?? '').replace(/_kernel_time$/, '');
    if (!seen.has(node)) seen.set(node, { node, op: String(e.args.op_name ?? '?'), provider: e.args.provider });
  }
  return [...seen.values()];
}

export type BackendVerdict =
  | { ok: true; backendUsed: string; providers: string[]; computeNodes: number }
  | { ok: false; providers: string[]; offenders: NodePlacement[]; reason: string };

/**
 * `backendUsed` is the requested backend only when every compute node (memcpy aside) ran on that
 * backend's provider; otherwise the nodes that ran elsewhere are named.
 */
export function judgePlacement(backend: string, placements: NodePlacement[]): BackendVerdict {
  const providers = [...new Set(placements.map((p) => p.provider))].sort();
  const expected = PROVIDER_FOR_BACKEND[backend];
  const compute = placements.filter((p) => !MEMCPY_OPS.has(p.op));
  if (!expected) return { ok: false, providers, offenders: [], reason: `no execution provider is known for backend '${backend}'` };
  if (compute.length === 0) {
    return { ok: false, providers, offenders: [], reason: 'the profiled inference recorded no node executions, so the backend used cannot be established' };
  }
  const offenders = compute.filter((p) => p.provider !== expected);
  if (offenders.length === 0) return { ok: true, backendUsed: backend, providers, computeNodes: compute.length };
  return { ok: false, providers, offenders, reason: `${offenders.length} of ${compute.length} nodes ran outside ${expected}: ${describeNodes(offenders)}` };
}

export function describeNodes(nodes: NodePlacement[], max = 10): string {
  const shown = nodes.slice(0, max).map((p) => `${p.node} (${p.op}) on ${p.provider}`);
  return shown.join(', ') + (nodes.length > max ? `, and ${nodes.length - max} more` : '');
}
