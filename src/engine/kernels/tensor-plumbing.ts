/**
 * Plumbing shared by tiedet's wasm kernels: run a kernel body written with ordinary tf ops on the kernel's
 * TensorInfo inputs, and return a TensorInfo the engine can adopt, with reference counts kept exact.
 *
 * Reference counting (engine.md §1.4): `engine.makeTensorFromTensorInfo(info)` tracks a new Tensor for an
 * existing dataId but does NOT add a backend reference. Disposing that wrapper drops one backend reference, so
 * every wrapper we make is preceded by `backend.incRef(dataId)`. The result works the other way round: we add a
 * backend reference for the caller, then dispose our tracked Tensor, which leaves the data alive with exactly the
 * one reference the engine will own when it wraps the returned TensorInfo.
 */
import * as tf from '@tensorflow/tfjs';
import { heapAddress as addressOf, heapView } from './heap-wasm.js';
import { simdPlumbing } from './simd-plumbing.js';

/** The parts of the wasm backend (`BackendWasm`) the kernels use. */
export interface WasmBackendLike {
  incRef(dataId: object): void;
  /** Allocates an output buffer on the wasm heap (refCount 1). */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A typed-array view (no copy) of a tensor's data on the wasm heap. Invalidated by any later allocation. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export type TensorInfo = tf.TensorInfo;

/** Wrap TensorInfos as Tensors (each holding its own backend reference) for the duration of `body`. */
export function runWithTensors(
  backend: unknown,
  inputs: TensorInfo[],
  body: (...tensors: tf.Tensor[]) => tf.Tensor,
): TensorInfo {
  const be = backend as WasmBackendLike;
  const engine = tf.engine();
  const wrappers = inputs.map((info) => {
    be.incRef(info.dataId);
    return engine.makeTensorFromTensorInfo(info, backend as tf.KernelBackend);
  });
  try {
    const out = tf.tidy(() => body(...wrappers));
    be.incRef(out.dataId);
    const info: TensorInfo = { dataId: out.dataId, shape: out.shape.slice(), dtype: out.dtype };
    out.dispose();
    return info;
  } finally {
    for (const w of wrappers) w.dispose();
  }
}

/** A Tensor for a fresh output buffer on the wasm heap; disposing it frees the buffer. */
export function newHeapTensor(shape: number[], dtype: tf.DataType = 'float32'): tf.Tensor {
  const be = tf.backend() as unknown as WasmBackendLike;
  const info = be.makeOutput(shape, dtype);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** A Float32Array view of a float32 tensor's wasm heap data. Re-take after any allocation. */
export function heapF32(t: tf.Tensor): Float32Array {
  const v = heapView(t);
  if (!(v instanceof Float32Array)) throw new Error(`tiedet kernels: expected a float32 tensor, got ${t.dtype}`);
  return v;
}

/**
 * `tf.slice` of a rank-4 float32 tensor, copied on the wasm heap. (The stock wasm Slice first copies the whole
 * input into a fresh JS array, which costs milliseconds per megabyte with the threaded, shared-memory heap.)
 */
export function crop4d(x: tf.Tensor, begin: readonly number[], size: readonly number[]): tf.Tensor {
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const [b0, b1, b2, b3] = begin as [number, number, number, number];
  const [s0, s1, s2, s3] = size as [number, number, number, number];
  if (x.rank !== 4 || begin.length !== 4 || size.length !== 4) throw new Error('crop4d: rank 4 only');
  if (b0 < 0 || b1 < 0 || b2 < 0 || b3 < 0 || b0 + s0 > N || b1 + s1 > H || b2 + s2 > W || b3 + s3 > C) {
    throw new Error(`crop4d: [${begin}]+[${size}] is outside [${x.shape}]`);
  }
  if (b0 === 0 && b1 === 0 && b2 === 0 && b3 === 0 && s0 === N && s1 === H && s2 === W && s3 === C) {
    return x.clone();
  }
  if (x.dtype !== 'float32') return tf.slice(x, begin as number[], size as number[]);
  const out = newHeapTensor([s0, s1, s2, s3]);
  const src = heapF32(x);
  const dst = heapF32(out);
  let o = 0;
  const rowRun = s2 * C;
  for (let n = b0; n < b0 + s0; n++) {
    for (let h = b1; h < b1 + s1; h++) {
      const rowStart = ((n * H + h) * W + b2) * C;
      if (s3 === C) {
        dst.set(src.subarray(rowStart, rowStart + rowRun), o);
        o += rowRun;
      } else {
        for (let w = 0; w < s2; w++) {
          const p = rowStart + w * C + b3;
          dst.set(src.subarray(p, p + s3), o);
          o += s3;
        }
      }
    }
  }
  return out;
}

/**
 * [R, C] → [C, R]. wasm's rank-2 transpose reads sequentially and writes with stride R: fast (~1 ns per value, even
 * for 100 MB tensors) unless R is a multiple of a large power of two, when the strided writes hit the same cache
 * sets (~15× slower). Then R = a·b is split and the rank-3 transpose [a, b, C] → [C, a, b] is used instead, which
 * walks the output (fine for moderate sizes; 3–4× slower than the rank-2 one beyond ~10 M values).
 * Transposing NHWC data as [N·H·W, C] → [C, N·H·W] this way beats the rank-4 transpose by 3–4× on large maps.
 */
export function transposeRows(t: tf.Tensor, R: number, C: number): tf.Tensor {
  const t2 = t.reshape([R, C]);
  if (ctz(R) < 6 || C === 1) return tf.transpose(t2);
  const a = smallFactor(R);
  return tf.transpose(t2.reshape([a, R / a, C]), [2, 0, 1]).reshape([C, R]);
}

/** Trailing zero bits of n (n > 0). */
export function ctz(n: number): number {
  let c = 0;
  while (n % 2 === 0 && c < 31) {
    n /= 2;
    c++;
  }
  return c;
}

/** Rows [r0, r1) of a rank-2 float32 tensor (one contiguous copy on the heap). */
export function rowRange(t: tf.Tensor, r0: number, r1: number): tf.Tensor {
  const C = t.shape[1]!;
  const out = newHeapTensor([r1 - r0, C]);
  heapF32(out).set(heapF32(t).subarray(r0 * C, r1 * C));
  return out;
}

/**
 * Swap the last two axes: [..., R, C] → [..., C, R]. wasm flattens the leading axes and runs a 2-D transpose per
 * block, which is slow when R is a multiple of a large power of two (cache-set conflicts on the strided writes);
 * splitting R = a·b and permuting [.., a, b, C] → [.., C, a, b] walks the output instead.
 */
export function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const shape = t.shape;
  const R = shape[shape.length - 2]!;
  const C = shape[shape.length - 1]!;
  const lead = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const a = R > 64 && C > 1 ? smallFactor(R) : 1;
  if (a > 1) {
    return tf.transpose(tf.reshape(t, [lead, a, R / a, C]), [0, 3, 1, 2]).reshape([...shape.slice(0, -2), C, R]);
  }
  return tf.transpose(tf.reshape(t, [lead, R, C]), [0, 2, 1]).reshape([...shape.slice(0, -2), C, R]);
}

function smallFactor(n: number): number {
  for (let f = 2; f <= 64 && f * f <= n; f++) if (n % f === 0) return f;
  return 1;
}

/**
 * The SIMD module's (base, stride) table in bytes, one entry per group of 4 channels of the [P, s·ws] channel-last
 * tensor: where that group of pixel p lives in the block-major split tensors. Null when some block width is not a
 * multiple of 4 (a group would straddle two blocks): the JavaScript loops handle those.
 */
function simdTable(parts: readonly tf.Tensor[], blocks: readonly number[], ws: number, P: number): tf.Tensor | null {
  if (ws % 4 !== 0 || blocks.some((B) => (ws / B) % 4 !== 0)) return null;
  const G = (blocks.length * ws) / 4;
  const t = new Int32Array(2 * G);
  const addrs = parts.map(addressOf);
  blocks.forEach((B, i) => {
    const cb = ws / B;
    for (let k = 0; k < ws; k += 4) {
      const b = Math.floor(k / cb);
      const g = (i * ws + k) / 4;
      t[2 * g] = addrs[i]! + 4 * (b * P * cb + (k - b * cb));
      t[2 * g + 1] = 4 * cb;
    }
  });
  return heapInt32(t);
}

/** An int32 tensor on the wasm heap holding `values` (address tables for tiedet's wasm modules). */
export function heapInt32(values: ArrayLike<number>): tf.Tensor {
  const out = newHeapTensor([values.length], 'int32');
  (heapView(out) as Int32Array).set(values);
  return out;
}

/**
 * TiedBottleneck entry → split inputs in one heap pass (SIMD, simd-plumbing.ts, when every block width is a
 * multiple of 4; these JavaScript loops otherwise). `x` [n, h, w, s·ws] (float32); split i is cut into B_i
 * contiguous blocks and returned block-major, [B_i·n, h, w, ws/B_i] (the batch layout a TBC convolves), with
 * y = max(0, x·scale[c] + shift[c]) (BN + ReLU) applied on the way.
 */
export function splitToBlocks(
  x: tf.Tensor4D,
  blocks: readonly number[],
  scale: tf.Tensor1D,
  shift: tf.Tensor1D,
): tf.Tensor4D[] {
  const [n, h, w, W] = x.shape;
  const s = blocks.length;
  const ws = W / s;
  const P = n * h * w;
  const outs = blocks.map((B) => newHeapTensor([B * n, h, w, ws / B]) as tf.Tensor4D);
  const simd = x.dtype === 'float32' ? simdPlumbing() : null;
  const table = simd ? simdTable(outs, blocks, ws, P) : null;
  if (simd && table) {
    simd.split_blocks(addressOf(x), P, W / 4, addressOf(scale), addressOf(shift), addressOf(table));
    table.dispose();
    return outs;
  }
  const sc = heapF32(scale);
  const sh = heapF32(shift);
  const src = heapF32(x);
  const dsts = outs.map((o) => heapF32(o));
  for (let i = 0; i < s; i++) {
    const B = blocks[i]!;
    const cb = ws / B;
    const dst = dsts[i]!;
    for (let b = 0; b < B; b++) {
      const c0 = i * ws + b * cb;
      let d = b * P * cb;
      for (let p = 0; p < P; p++) {
        let q = p * W + c0;
        for (let j = 0; j < cb; j++, q++, d++) {
          const v = src[q]! * sc[c0 + j]! + sh[c0 + j]!;
          dst[d] = (v + Math.abs(v)) * 0.5; // ReLU without a branch (random signs mispredict: ~4× slower)
        }
      }
    }
  }
  return outs;
}

/**
 * The inverse gather: split outputs `parts[i]` [B_i·n, h, w, ws/B_i] (block-major) → y [n, h, w, s·ws] with
 * y = max(0, v·scale[c] + shift[c]) (BN + ReLU), and, when `withSum`, Σ_i y_i [n, h, w, ws] from the same pass.
 */
export function blocksToChannels(
  parts: readonly tf.Tensor4D[],
  n: number,
  scale: tf.Tensor1D,
  shift: tf.Tensor1D,
  withSum: boolean,
): { y: tf.Tensor4D; sum: tf.Tensor4D | null } {
  const s = parts.length;
  const [, h, w] = parts[0]!.shape;
  const blocks = parts.map((t) => t.shape[0] / n);
  const ws = blocks[0]! * parts[0]!.shape[3];
  const W = s * ws;
  const P = n * h * w;
  const y = newHeapTensor([n, h, w, W]) as tf.Tensor4D;
  const sum = withSum ? (newHeapTensor([n, h, w, ws]) as tf.Tensor4D) : null;
  const simd = simdPlumbing();
  const table = simd ? simdTable(parts, blocks, ws, P) : null;
  if (simd && table) {
    const sumAt = sum ? addressOf(sum) : 0;
    simd.gather_blocks(addressOf(y), P, W / 4, addressOf(scale), addressOf(shift), addressOf(table), sumAt, s, ws / 4);
    table.dispose();
    return { y, sum };
  }
  const sc = heapF32(scale);
  const sh = heapF32(shift);
  const dst = heapF32(y);
  const acc = sum ? heapF32(sum) : null;
  const srcs = parts.map((t) => heapF32(t));
  for (let i = 0; i < s; i++) {
    const B = blocks[i]!;
    const cb = ws / B;
    const src = srcs[i]!;
    for (let b = 0; b < B; b++) {
      const k0 = b * cb;
      const c0 = i * ws + k0;
      let q = b * P * cb;
      for (let p = 0; p < P; p++) {
        const d = p * W + c0;
        const a = p * ws + k0;
        for (let j = 0; j < cb; j++, q++) {
          const u = src[q]! * sc[c0 + j]! + sh[c0 + j]!;
          const v = (u + Math.abs(u)) * 0.5; // branch-free ReLU, as in splitToBlocks
          dst[d + j] = v;
          if (acc) acc[a + j] = i === 0 ? v : acc[a + j]! + v;
        }
      }
    }
  }
  return { y, sum };
}

/**
 * The exact permutation x [n, h, w, s·ws] → split i cut into B_i blocks, block-major [B_i·n, h, w, ws/B_i] (no BN, no
 * ReLU: the training path moves activations and gradients of both signs), in one SIMD heap pass; null when the
 * SIMD module is off or a block width is not a multiple of 4 (callers then take the tf.split + transpose path).
 */
export function moveToBlocks(x: tf.Tensor4D, blocks: readonly number[]): tf.Tensor4D[] | null {
  const [n, h, w, W] = x.shape;
  const ws = W / blocks.length;
  const simd = x.dtype === 'float32' ? simdPlumbing() : null;
  if (!simd || ws % 4 !== 0 || blocks.some((B) => (ws / B) % 4 !== 0)) return null;
  const P = n * h * w;
  const outs = blocks.map((B) => newHeapTensor([B * n, h, w, ws / B]) as tf.Tensor4D);
  const table = simdTable(outs, blocks, ws, P)!;
  simd.move_blocks(addressOf(x), P, W / 4, addressOf(table));
  table.dispose();
  return outs;
}

/** The inverse of `moveToBlocks`: block-major parts [B_i·n, h, w, ws/B_i] → [n, h, w, s·ws]; null as there. */
export function collectFromBlocks(parts: readonly tf.Tensor4D[], n: number): tf.Tensor4D | null {
  const [, h, w] = parts[0]!.shape;
  const blocks = parts.map((t) => t.shape[0] / n);
  const ws = blocks[0]! * parts[0]!.shape[3];
  const simd = parts.every((t) => t.dtype === 'float32') ? simdPlumbing() : null;
  if (!simd || ws % 4 !== 0 || blocks.some((B) => (ws / B) % 4 !== 0)) return null;
  const W = parts.length * ws;
  const P = n * h * w;
  const y = newHeapTensor([n, h, w, W]) as tf.Tensor4D;
  const table = simdTable(parts, blocks, ws, P)!;
  simd.collect_blocks(addressOf(y), P, W / 4, addressOf(table));
  table.dispose();
  return y;
}

/** y [n, h, w, s·ws] + m [n, h, w, ws] broadcast over the s splits, in one heap pass (a fresh output). */
export function addToEverySplit(y: tf.Tensor4D, m: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, W] = y.shape;
  const ws = m.shape[3];
  const s = W / ws;
  const P = n * h * w;
  const out = newHeapTensor([n, h, w, W]) as tf.Tensor4D;
  const simd = ws % 4 === 0 ? simdPlumbing() : null;
  if (simd) {
    simd.add_every_split(addressOf(y), addressOf(m), addressOf(out), P, s, ws / 4);
    return out;
  }
  const src = heapF32(y);
  const mm = heapF32(m);
  const dst = heapF32(out);
  for (let p = 0; p < P; p++) {
    const a = p * ws;
    let q = p * W;
    for (let i = 0; i < s; i++) {
      for (let k = 0; k < ws; k++, q++) dst[q] = src[q]! + mm[a + k]!;
    }
  }
  return out;
}
