/**
 * The backends the facade knows, in ranking order ('auto' picks the first available one whose device is a
 * GPU or NPU, else cpu: backends.ts): the one
 * list that the BackendName type, the `backend` option, STRIDEKIT_BACKEND's check and the CLI's help
 * derive from. The native core lists its backends in the same order (`backends()`).
 */
export const BACKEND_NAMES = ['cudnn', 'coreml', 'openvino', 'cpu'] as const;

export type BackendName = (typeof BACKEND_NAMES)[number];
