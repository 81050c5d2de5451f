/**
 * tiedet's own SIMD loops on the TF.js wasm heap (src/engine/kernels/wasm/plumbing.wat, assembled into
 * simd-plumbing-binary.ts). The TiedBottleneck inference path moves every split's channels into and out of the
 * block-major batch layout a TBC convolves; in JavaScript those passes cost as much as the convolutions around
 * them (no SIMD, bounds checks, a load per table entry per float). The module imports the backend's own
 * `WebAssembly.Memory`, so it works in place on the tensors TF.js allocated — no copies.
 *
 * `simdPlumbing()` returns the exports for the active wasm backend, or null when there is none (another backend,
 * no reachable memory, or `setSimdPlumbing(false)`), in which case callers use their JavaScript loops.
 */
import * as tf from '@tensorflow/tfjs';
import { PLUMBING_WASM_PLAIN, PLUMBING_WASM_SHARED } from './simd-plumbing-binary.js';

export interface SimdPlumbing {
  /** (src, P, G, sc, sh, table): see plumbing.wat. Byte addresses; G groups of 4 channels. */
  split_blocks(src: number, P: number, G: number, sc: number, sh: number, table: number): void;
  gather_blocks(dst: number, P: number, G: number, sc: number, sh: number, table: number, sum: number, s: number, ws4: number): void;
  add_every_split(y: number, m: number, out: number, P: number, s: number, ws4: number): void;
}

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
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
}

const instances = new WeakMap<WasmMemory, SimdPlumbing>();
let enabled = true;

/** Turn the SIMD passes off (true → on again): for A/B benchmarks and the tests that compare both paths. */
export function setSimdPlumbing(on: boolean): void {
  enabled = on;
}

/** The memory the active wasm backend's heap lives in, or null. */
export function backendMemory(): WasmMemory | null {
  if (tf.getBackend() !== 'wasm') return null;
  const mod = (tf.backend() as unknown as { wasm?: EmscriptenModuleLike }).wasm;
  const memory = mod?.wasmMemory ?? mod?.asm?.memory ?? null;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

export function simdPlumbing(): SimdPlumbing | null {
  if (!enabled) return null;
  const memory = backendMemory();
  if (!memory) return null;
  let inst = instances.get(memory);
  if (!inst) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? PLUMBING_WASM_SHARED : PLUMBING_WASM_PLAIN, 'base64');
    const module = new WebAssembly.Module(bytes);
    inst = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdPlumbing;
    instances.set(memory, inst);
  }
  return inst;
}
