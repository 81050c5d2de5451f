/**
 * The one inner loop of RoIAlign (src/ops/roi-align.ts), forward and backward: a weighted sum of strided rows,
 *
 *     f32[dst + e] += Σ_{j < n} f32[w + j] · f32[src + j·stride + e]        for e < len,
 *
 * on a flat float32 memory (all offsets in floats). Two implementations of the same {@link FloatMemory}:
 * - {@link heapMemory}: the TF.js wasm backend's own heap, with the loop in a ~570-byte WebAssembly module built here
 *   (SIMD f32x4, four vectors per step) that imports the backend's `WasmMemory` — so it reads feature maps
 *   and writes outputs where TF.js keeps them, without copies. Used when the active backend is wasm.
 * - {@link jsMemory}: plain JavaScript over a Float32Array (other backends, and the mask ops on CPU data).
 * The wasm module follows the WebAssembly 2.0 binary format (core + fixed-width SIMD); it is assembled from the
 * instruction list below, not shipped as a binary.
 */
import * as tf from '@tensorflow/tfjs';

export interface FloatMemory {
  /** The memory as floats. For the wasm heap, re-take it (`refresh`) after any TF.js allocation. */
  f32: Float32Array;
  /** f32[dst + e] += Σ_{j<n} f32[w + j] · f32[src + j·stride + e], e < len (offsets and stride in floats). */
  accum(dst: number, src: number, stride: number, w: number, n: number, len: number): void;
  /** Re-read the memory view (the wasm heap may have grown). */
  refresh(): void;
}

/** A FloatMemory over a JavaScript Float32Array. */
export function jsMemory(f32: Float32Array): FloatMemory {
  return {
    f32,
    accum(dst, src, stride, w, n, len) {
      const f = this.f32;
      for (let j = 0; j < n; j++) {
        const wv = f[w + j]!;
        if (wv === 0) continue;
        const s = src + j * stride;
        for (let e = 0; e < len; e++) f[dst + e] += wv * f[s + e]!;
      }
    },
    refresh() {},
  };
}

// ---- a minimal WebAssembly assembler ------------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const bytesOf = (s: string): number[] => [...new TextEncoder().encode(s)];
const name = (s: string): number[] => [...uleb(bytesOf(s).length), ...bytesOf(s)];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

// Instructions (WebAssembly 2.0 opcodes).
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = [0x6a];
const SUB = [0x6b];
const AND = [0x71];
const SHL = [0x74];
const GE_U = [0x4f];
const EQZ = [0x45];
const F32_LOAD = [0x2a, 2, 0];
const F32_STORE = [0x38, 2, 0];
const F32_ADD = [0x92];
const F32_MUL = [0x94];
const V128_LOAD = (offset: number) => [0xfd, 0x00, 2, ...uleb(offset)];
const V128_STORE = (offset: number) => [0xfd, 0x0b, 2, ...uleb(offset)];
const SPLAT = [0xfd, 0x13];
const F4_ADD = [0xfd, ...uleb(0xe4)];
const F4_MUL = [0xfd, ...uleb(0xe6)];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = [0x0b];
const BR = (d: number) => [0x0c, d];
const BR_IF = (d: number) => [0x0d, d];

// accum(dst, src, stride, w, n, len): all addresses and the stride in bytes, len in floats.
const P = { dst: 0, src: 1, stride: 2, w: 3, n: 4, len: 5 };
const L = { i: 6, end16: 7, sp: 8, wp: 9, j: 10, endAll: 11, end4: 12, a0: 13, a1: 14, a2: 15, a3: 16, wv: 17, s: 18 };

/** for (j = n, sp = src + i, wp = w; j; j--, sp += stride, wp += 4) { body } */
function overRows(body: number[]): number[] {
  return [
    ...get(P.src), ...get(L.i), ...ADD, ...set(L.sp),
    ...get(P.w), ...set(L.wp),
    ...get(P.n), ...set(L.j),
    ...BLOCK, ...LOOP,
    ...get(L.j), ...EQZ, ...BR_IF(1),
    ...body,
    ...get(L.sp), ...get(P.stride), ...ADD, ...set(L.sp),
    ...get(L.wp), ...i32(4), ...ADD, ...set(L.wp),
    ...get(L.j), ...i32(1), ...SUB, ...set(L.j),
    ...BR(0), ...END, ...END,
  ];
}

/** while (i < end) { body; i += step } */
function whileBelow(end: number, step: number, body: number[]): number[] {
  return [
    ...BLOCK, ...LOOP,
    ...get(L.i), ...get(end), ...GE_U, ...BR_IF(1),
    ...body,
    ...get(L.i), ...i32(step), ...ADD, ...set(L.i),
    ...BR(0), ...END, ...END,
  ];
}

const dstAt = [...get(P.dst), ...get(L.i), ...ADD];
const acc4 = (a: number, off: number) => [...get(a), ...get(L.sp), ...V128_LOAD(off), ...get(L.wv), ...F4_MUL, ...F4_ADD, ...set(a)];

const ACCUM_BODY: number[] = [
  // end16 = (len & ~15) · 4, end4 = (len & ~3) · 4, endAll = len · 4, i = 0
  ...get(P.len), ...i32(-16), ...AND, ...i32(2), ...SHL, ...set(L.end16),
  ...get(P.len), ...i32(-4), ...AND, ...i32(2), ...SHL, ...set(L.end4),
  ...get(P.len), ...i32(2), ...SHL, ...set(L.endAll),
  ...i32(0), ...set(L.i),
  // 16 floats at a time in four accumulators
  ...whileBelow(L.end16, 64, [
    ...dstAt, ...V128_LOAD(0), ...set(L.a0),
    ...dstAt, ...V128_LOAD(16), ...set(L.a1),
    ...dstAt, ...V128_LOAD(32), ...set(L.a2),
    ...dstAt, ...V128_LOAD(48), ...set(L.a3),
    ...overRows([
      ...get(L.wp), ...F32_LOAD, ...SPLAT, ...set(L.wv),
      ...acc4(L.a0, 0), ...acc4(L.a1, 16), ...acc4(L.a2, 32), ...acc4(L.a3, 48),
    ]),
    ...dstAt, ...get(L.a0), ...V128_STORE(0),
    ...dstAt, ...get(L.a1), ...V128_STORE(16),
    ...dstAt, ...get(L.a2), ...V128_STORE(32),
    ...dstAt, ...get(L.a3), ...V128_STORE(48),
  ]),
  // then 4 at a time
  ...whileBelow(L.end4, 16, [
    ...dstAt, ...V128_LOAD(0), ...set(L.a0),
    ...overRows([...get(L.wp), ...F32_LOAD, ...SPLAT, ...set(L.wv), ...acc4(L.a0, 0)]),
    ...dstAt, ...get(L.a0), ...V128_STORE(0),
  ]),
  // then one at a time
  ...whileBelow(L.endAll, 4, [
    ...dstAt, ...F32_LOAD, ...set(L.s),
    ...overRows([...get(L.s), ...get(L.sp), ...F32_LOAD, ...get(L.wp), ...F32_LOAD, ...F32_MUL, ...F32_ADD, ...set(L.s)]),
    ...dstAt, ...get(L.s), ...F32_STORE,
  ]),
];

/** The module's bytes for a memory that is `shared` (threaded wasm backend) or not. */
export function accumModuleBytes(shared: boolean): Uint8Array {
  const type = [0x60, ...uleb(6), I32, I32, I32, I32, I32, I32, ...uleb(0)];
  // shared memories must declare a maximum: the wasm32 limit (65536 pages = 4 GiB) accepts any actual maximum.
  const limits = shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)];
  const imp = [...name('env'), ...name('memory'), 0x02, ...limits];
  const locals = [...uleb(3), ...uleb(7), I32, ...uleb(5), V128, ...uleb(1), F32];
  const body = [...locals, ...ACCUM_BODY, ...END];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), ...type]),
    ...section(2, [...uleb(1), ...imp]),
    ...section(3, [...uleb(1), ...uleb(0)]),
    ...section(7, [...uleb(1), ...name('accum'), 0x00, ...uleb(0)]),
    ...section(10, [...uleb(1), ...uleb(body.length), ...body]),
  ]);
}

type AccumFn = (dst: number, src: number, stride: number, w: number, n: number, len: number) => void;

/** The parts of the WebAssembly JS API used here (the project's `lib` has no DOM / WebAssembly typings). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Instantiate the accum module on `memory` (null when this runtime lacks WebAssembly SIMD). */
export function instantiateAccum(memory: WasmMemory): AccumFn | null {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = accumModuleBytes(shared);
  if (!wasmApi.validate(bytes)) return null;
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
  return instance.exports.accum as AccumFn;
}

interface EmscriptenModuleLike {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
}

const cache = new WeakMap<WasmMemory, AccumFn | null>();

/** The wasm backend's memory, or null when the active backend is not wasm. */
function backendMemory(): WasmMemory | null {
  if (tf.getBackend() !== 'wasm') return null;
  const mod = (tf.backend() as unknown as { wasm?: EmscriptenModuleLike }).wasm;
  return mod?.wasmMemory ?? mod?.asm?.memory ?? null;
}

/**
 * A FloatMemory over the active TF.js wasm backend's heap (offsets = byte address / 4), with the SIMD loop; null when
 * the backend is not wasm or the runtime lacks WebAssembly SIMD.
 */
export function heapMemory(): FloatMemory | null {
  const memory = backendMemory();
  if (!memory) return null;
  if (!cache.has(memory)) cache.set(memory, instantiateAccum(memory));
  const fn = cache.get(memory);
  if (!fn) return null;
  const mem: FloatMemory = {
    f32: new Float32Array(memory.buffer),
    accum(dst, src, stride, w, n, len) {
      if (n > 0 && len > 0) fn(dst * 4, src * 4, stride * 4, w * 4, n, len);
    },
    refresh() {
      if (mem.f32.buffer !== memory.buffer) mem.f32 = new Float32Array(memory.buffer);
    },
  };
  return mem;
}
