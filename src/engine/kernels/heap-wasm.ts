/**
 * tiedet's own WebAssembly modules (src/engine/kernels/wasm/*.wat, assembled into wasm-binaries.ts by
 * `npm run build:wasm`), instantiated on the TF.js wasm backend's own `WebAssembly.Memory`: they work in place on
 * the tensors TF.js allocated — no copies. One instance per (module, memory).
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of the WebAssembly JS API used here (tiedet's TS lib set has no DOM / WebAssembly typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface EmscriptenModuleLike {
  /** The threaded build keeps its (shared) memory here. */
  wasmMemory?: WasmMemory;
  /** The single-threaded build exports its memory. */
  asm?: { memory?: WasmMemory };
}

/** The memory the active wasm backend's heap lives in, or null (another backend). */
export function backendMemory(): WasmMemory | null {
  if (tf.getBackend() !== 'wasm') return null;
  const mod = (tf.backend() as unknown as { wasm?: EmscriptenModuleLike }).wasm;
  const memory = mod?.wasmMemory ?? mod?.asm?.memory ?? null;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** A module in both memory variants (base64 of the assembled bytes). */
export interface HeapWasmBinary {
  shared: string;
  plain: string;
}

const instances = new WeakMap<WasmMemory, Map<HeapWasmBinary, unknown>>();

/** The module's exports, instantiated on the active backend's memory; null when there is no wasm backend. */
export function heapWasm<T>(binary: HeapWasmBinary): T | null {
  const memory = backendMemory();
  if (!memory) return null;
  let perMemory = instances.get(memory);
  if (!perMemory) {
    perMemory = new Map();
    instances.set(memory, perMemory);
  }
  let exports = perMemory.get(binary) as T | undefined;
  if (!exports) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? binary.shared : binary.plain, 'base64');
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as T;
    perMemory.set(binary, exports);
  }
  return exports;
}

/** A typed-array view (no copy) of a tensor's data on the wasm heap. Invalidated by any later allocation. */
export function heapView(t: tf.Tensor): Float32Array | Int32Array | Uint8Array {
  const be = tf.backend() as unknown as {
    typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  };
  return be.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
}

/** Byte address of a tensor's data on the wasm heap (valid while the tensor lives; heap growth keeps it). */
export function heapAddress(t: tf.Tensor): number {
  return heapView(t).byteOffset;
}
