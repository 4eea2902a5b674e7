/**
 * Which backend runs a convolution. The core probes every backend once and lists them in ranking
 * order (backend-names.ts). STRIDEKIT_BACKEND forces one and a per-call `backend`
 * option picks one; either way an unavailable backend is an Error that says why, never a silent
 * fallback. 'auto' (and no setting) means the first available backend in ranking order.
 */
import { BACKEND_NAMES, BackendName } from './backend-names';
import { notOneOf } from './errors';
import { binding } from './loader';
import type { NativeBackendInfo } from './native-abi';
import { BACKEND_REQUESTS } from './options';
import type { BackendInfo, BackendRequest } from './types';

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
    if (reason !== undefined) return [{ name, available: false, reason, device: '', path: '' }];
    return found.filter((b) => b.name === name);
  });
}

/** Every known backend in ranking order, whether it can run here, and which one 'auto' picks. */
export function backends(): BackendInfo[] {
  let selected: string | undefined;
  try {
    selected = defaultBackend();
  } catch {
    selected = undefined; // a bad STRIDEKIT_BACKEND is reported when a convolution needs a backend
  }
  return nativeBackends().map((b) => ({
    name: b.name as BackendName,
    available: b.available,
    selected: b.name === selected,
    ...(b.device !== '' ? { device: b.device } : {}),
    ...(b.reason !== '' ? { reason: b.reason } : {}),
  }));
}

/** The backend a call runs on; throws when the request cannot be honoured. */
export function resolveBackend(request: BackendRequest): BackendName {
  return request === 'auto' ? defaultBackend() : requireAvailable(request, 'options.backend');
}

/** STRIDEKIT_BACKEND when set (and not 'auto'), else the first available backend. */
export function defaultBackend(): BackendName {
  const forced = process.env[BACKEND_ENV];
  if (forced !== undefined && forced !== '' && forced !== 'auto') {
    if (!(BACKEND_NAMES as readonly string[]).includes(forced)) {
      throw notOneOf(BACKEND_ENV, BACKEND_REQUESTS, forced);
    }
    return requireAvailable(forced as BackendName, BACKEND_ENV);
  }
  const first = nativeBackends().find((b) => b.available);
  if (first === undefined) throw new Error(`no stridekit backend is available here: ${reasons()}`);
  return first.name as BackendName;
}

function requireAvailable(name: BackendName, requestedBy: string): BackendName {
  const info = nativeBackends().find((b) => b.name === name);
  if (info?.available) return name;
  const why = info === undefined ? 'this native core does not know it' : info.reason || 'no reason given';
  const available = nativeBackends().filter((b) => b.available).map((b) => b.name).join(', ') || 'none';
  throw new Error(`backend '${name}' is not available: ${why} (requested by ${requestedBy}; available: ${available})`);
}

function reasons(): string {
  return nativeBackends().map((b) => `${b.name}: ${b.reason || 'unavailable'}`).join('; ');
}
