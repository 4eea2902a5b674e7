/**
 * Which backend runs a convolution. The core probes every backend once and lists them in ranking
 * order (backend-names.ts). STRIDEKIT_BACKEND forces one and a per-call `backend`
 * option picks one; either way an unavailable backend is an Error that says why, never a silent
 * fallback. 'auto' (and no setting) means the first available backend in ranking order among those
 * expected to be faster than the built-in cpu backend (outranksCpu), else cpu. backend: 'fastest'
 * (createConv only, fastest.ts) measures instead of expecting.
 */
import { BACKEND_NAMES, BackendName } from './backend-names';
import { invalid, notOneOf, oneOf } from './errors';
import { binding } from './loader';
import { NativeBackendInfo, PRECISION } from './native-abi';
import { BACKEND_REQUESTS, PRECISIONS } from './options';
import type { BackendInfo, PlanBackendRequest, Precision } from './types';

export const BACKEND_ENV = 'STRIDEKIT_BACKEND';

/**
 * Backends that exist on one platform only. Elsewhere no plugin is built for them, so the core is not
 * asked to look for one, and the reason is the platform rather than a missing file.
 */
const PLATFORM_ONLY: Partial<Record<BackendName, { platform: NodeJS.Platform; reason: string }>> = {
  coreml: { platform: 'darwin', reason: 'macOS only' },
};

let probed: readonly NativeBackendInfo[] | undefined;

/** The core's probe results; they cannot change within a process, so they are read once. */
function nativeBackends(): readonly NativeBackendInfo[] {
  probed ??= probe();
  return probed;
}

function probe(): NativeBackendInfo[] {
  const elsewhere = (name: BackendName) => {
    const only = PLATFORM_ONLY[name];
    return only !== undefined && only.platform !== process.platform ? only.reason : undefined;
  };
  const found = binding().backends(BACKEND_NAMES.filter((name) => elsewhere(name) === undefined));
  return BACKEND_NAMES.flatMap((name): NativeBackendInfo[] => {
    const reason = elsewhere(name);
    if (reason !== undefined) return [{ name, available: false, reason, device: '', kind: '', precisions: 0, path: '' }];
    return found.filter((b) => b.name === name);
  });
}

/**
 * Why an available backend is not expected to beat the built-in cpu backend, or undefined when it is.
 * A vendor runtime pays for compiling a model for every new set of weights (OpenVINO, Core ML) and for
 * crossing the C ABI into another runtime; it only earns that back on a processor the cpu backend cannot
 * use. So only a backend whose probe reports a GPU or NPU (sk_device_kind) ranks above cpu: cudnn always
 * (an NVIDIA GPU), openvino when STRIDEKIT_OPENVINO_DEVICE is a GPU or NPU, coreml on Apple silicon.
 * Core ML on an Intel Mac is left to an explicit request: there it has no Neural Engine, its float32
 * programs run on the CPU or on the Mac's Intel or AMD GPU through Metal, and nothing known says that
 * beats the cpu backend's AVX2 kernels on the same machine. (process.arch is that of the Node.js binary:
 * an x64 Node.js under Rosetta on Apple silicon counts as an Intel Mac here.)
 */
function notAboveCpu(b: NativeBackendInfo): string | undefined {
  if (b.name === 'cpu') return undefined;
  const ask = `backend: '${b.name}' or 'fastest' still uses it`;
  if (b.kind === 'gpu' || b.kind === 'npu') {
    if (b.name === 'coreml' && process.arch !== 'arm64') {
      return `not chosen by 'auto': Core ML on an Intel Mac has no Neural Engine and is not expected to beat cpu; ${ask}`;
    }
    return undefined;
  }
  const where = b.kind === 'cpu'
    ? 'its device is a CPU, where the built-in cpu backend is expected to be faster'
    : 'its probe does not say that a GPU or NPU runs its work';
  const hint = b.name === 'openvino' ? '; STRIDEKIT_OPENVINO_DEVICE=GPU or NPU ranks it above cpu' : '';
  return `not chosen by 'auto': ${where}${hint}; ${ask}`;
}

/** Why 'auto' chose the available backend b, or why not, given its choice. */
function autoNote(b: NativeBackendInfo, choice: BackendName | undefined): string {
  const below = notAboveCpu(b);
  if (below !== undefined) return below;
  if (b.name === choice) {
    return b.name === 'cpu'
      ? "chosen by 'auto': no available backend runs its work on a GPU or NPU"
      : `chosen by 'auto': it runs its work on ${b.kind === 'npu' ? 'an NPU' : 'a GPU'}`;
  }
  return b.name === 'cpu'
    ? `not chosen by 'auto': ${choice} runs its work on a GPU or NPU`
    : `not chosen by 'auto': ${choice} ranks above it`;
}

/** The available backends in the order 'auto' prefers them: those that outrank cpu, cpu, the rest. */
export function autoOrder(): BackendName[] {
  const available = nativeBackends().filter((b) => b.available);
  const above = available.filter((b) => b.name !== 'cpu' && notAboveCpu(b) === undefined);
  const below = available.filter((b) => !above.includes(b));
  return [...above, ...below.filter((b) => b.name === 'cpu'), ...below.filter((b) => b.name !== 'cpu')]
    .map((b) => b.name as BackendName);
}

/**
 * The precisions a probe's bits (backend.h sk_probe_result.precisions) name, in PRECISIONS' order: fp32
 * always (a probe that says nothing computes in fp32 only), none for an unavailable backend.
 */
function honoured(b: NativeBackendInfo): Precision[] {
  if (!b.available) return [];
  return PRECISIONS.filter((p) => p === 'fp32' || (b.precisions & (1 << PRECISION[p])) !== 0);
}

/** Every known backend in ranking order, whether it can run here, and which one 'auto' picks. */
export function backends(): BackendInfo[] {
  let selected: string | undefined;
  try {
    selected = defaultBackend();
  } catch {
    selected = undefined; // a bad STRIDEKIT_BACKEND is reported when a convolution needs a backend
  }
  const choice = autoOrder()[0];
  return nativeBackends().map((b) => {
    const note = b.available ? autoNote(b, choice) : undefined;
    return {
      name: b.name as BackendName,
      available: b.available,
      selected: b.name === selected,
      ...(b.device !== '' ? { device: b.device } : {}),
      ...(b.kind === 'cpu' || b.kind === 'gpu' || b.kind === 'npu' ? { deviceKind: b.kind } : {}),
      precisions: honoured(b),
      ...(b.reason !== '' ? { reason: b.reason } : {}),
      ...(note !== undefined ? { note } : {}),
    };
  });
}

/**
 * The backend a call runs on; throws when the request cannot be honoured. 'fastest' is createConv's
 * own (it times a plan, fastest.ts): anywhere else it is a RangeError that says so.
 */
export function resolveBackend(request: PlanBackendRequest): BackendName {
  if (request === 'fastest') {
    throw invalid('range', 'backend', oneOf(BACKEND_REQUESTS), request,
      { hint: "'fastest' times a plan on every backend: pass it to createConv() with inputShape" });
  }
  return request === 'auto' ? defaultBackend() : requireAvailable(request, 'options.backend');
}

/** STRIDEKIT_BACKEND when set (and not 'auto'), else the first backend in autoOrder(). */
export function defaultBackend(): BackendName {
  const forced = process.env[BACKEND_ENV];
  if (forced !== undefined && forced !== '' && forced !== 'auto') {
    if (!(BACKEND_NAMES as readonly string[]).includes(forced)) {
      throw notOneOf(BACKEND_ENV, BACKEND_REQUESTS, forced);
    }
    return requireAvailable(forced as BackendName, BACKEND_ENV);
  }
  const first = autoOrder()[0];
  if (first === undefined) throw new Error(`no stridekit backend is available here: ${reasons()}`);
  return first;
}

function requireAvailable(name: BackendName, requestedBy: string): BackendName {
  // Every call that names its backend comes here: a plain loop, no closure to allocate.
  const all = nativeBackends();
  let info: NativeBackendInfo | undefined;
  for (let i = 0; i < all.length && info === undefined; i++) if (all[i].name === name) info = all[i];
  if (info?.available) return name;
  const why = info === undefined ? 'this native core does not know it' : info.reason || 'no reason given';
  const available = nativeBackends().filter((b) => b.available).map((b) => b.name).join(', ') || 'none';
  throw new Error(`backend '${name}' is not available: ${why} (requested by ${requestedBy}; available: ${available})`);
}

function reasons(): string {
  return nativeBackends().map((b) => `${b.name}: ${b.reason || 'unavailable'}`).join('; ');
}
