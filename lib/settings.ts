/**
 * The environment variables that tune the native core's CPU backend, checked before the core loads
 * (loader.ts), so that a bad value is an Error on the first call that needs the core, and
 * `stridekit info` shows it and exits non-zero, instead of being silently ignored.
 *
 *   STRIDEKIT_NUM_THREADS   threads of the CPU backend's pool: an integer from 1 to MAX_THREADS;
 *                           unset or empty: one per CPU this process may run on
 *   STRIDEKIT_CPU_KERNELS   'avx2' (no AVX-512 kernels) or 'portable' (x86-64 baseline kernels);
 *                           unset or empty: the best kernels the processor runs
 *
 * The core reads the same variables once, when its thread pool and kernels are first needed, and
 * accepts exactly these values (native/backends/cpu/thread_pool.h kMaxThreads and thread_count_setting,
 * native/backends/cpu/cpu_features.h kCpuKernelSettings); when reached with any other value anyway
 * (loaded without this facade) it falls back to the default rather than act on it.
 * test/settings.test.js runs the core on its own with every value to keep the two in step.
 *
 * STRIDEKIT_BACKEND is checked where a backend is chosen (backends.ts); STRIDEKIT_PLUGIN_PATH is a
 * list of folders, where a missing one is no error.
 */
import { closest, invalid, oneOf } from './errors';

export const THREADS_ENV = 'STRIDEKIT_NUM_THREADS';
export const KERNELS_ENV = 'STRIDEKIT_CPU_KERNELS';

/** native/backends/cpu/thread_pool.h kMaxThreads; why this bound is explained there. */
export const MAX_THREADS = 256;

/** native/backends/cpu/cpu_features.h kCpuKernelSettings. */
export const CPU_KERNELS: readonly string[] = ['avx2', 'portable'];

/** STRIDEKIT_NUM_THREADS as a number, or undefined when unset or empty; throws when it is bad. */
function threadCountSetting(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[THREADS_ENV];
  if (value === undefined || value === '') return undefined;
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_THREADS)) {
    throw invalid('range', THREADS_ENV,
      `an integer from 1 to ${MAX_THREADS}, or unset for one thread per CPU`, value);
  }
  return n;
}

/** STRIDEKIT_CPU_KERNELS, or undefined when unset or empty; throws when it is bad. */
function cpuKernelsSetting(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[KERNELS_ENV];
  if (value === undefined || value === '') return undefined;
  if (!CPU_KERNELS.includes(value)) {
    const suggestion = closest(value, CPU_KERNELS);
    throw invalid('range', KERNELS_ENV,
      `${oneOf(CPU_KERNELS)}, or unset for the best kernels this processor runs`, value,
      suggestion === undefined ? undefined : { hint: `did you mean '${suggestion}'?` });
  }
  return value;
}

/** Throws a RangeError naming the first bad setting, with the values it takes. */
export function checkSettings(env: NodeJS.ProcessEnv = process.env): void {
  threadCountSetting(env);
  cpuKernelsSetting(env);
}
