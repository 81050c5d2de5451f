/**
 * tiedet's SIMD heap passes (src/engine/kernels/wasm/plumbing.wat → wasm-binaries.ts):
 *  - the committed generated files (winograd.wat, wasm-binaries.ts) are what `npm run build:wasm` writes;
 *  - each kernel, run on a memory of its own (shared and plain), matches a plain-JS reference exactly;
 *  - on the TF.js wasm heap, splitToBlocks / blocksToChannels / addToEverySplit give the same tensors with the SIMD
 *    module as with the JavaScript loops, and both match a tf-ops reference (BN + ReLU, split, blocks into the batch);
 *  - widths the SIMD layout cannot take (block width not a multiple of 4) fall back to the loops; no tensor leaks.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { addToEverySplit, blocksToChannels, splitToBlocks } from '../../src/engine/kernels/tensor-plumbing.js';
import { PLUMBING_WASM_PLAIN, PLUMBING_WASM_SHARED } from '../../src/engine/kernels/wasm-binaries.js';
import { backendMemory } from '../../src/engine/kernels/heap-wasm.js';
import { setSimdPlumbing, simdPlumbing, type SimdPlumbing } from '../../src/engine/kernels/simd-plumbing.js';
import { generatedFiles } from '../../tools/wasm/build.js';

interface Wasm {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer };
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

describe('SIMD plumbing module', () => {
  it('the committed generated .wat and binaries are what `npm run build:wasm` writes', async () => {
    const files = await generatedFiles();
    expect(Object.keys(files).length).toBe(3);
    for (const [path, text] of Object.entries(files)) expect(readFileSync(path, 'utf8'), path).toBe(text);
  });

  for (const variant of ['shared', 'plain'] as const) {
    it(`kernels match a JS reference on a ${variant} memory`, () => {
      const memory = variant === 'shared' ? new WA.Memory({ initial: 16, maximum: 65536, shared: true }) : new WA.Memory({ initial: 16 });
      const bytes = Buffer.from(variant === 'shared' ? PLUMBING_WASM_SHARED : PLUMBING_WASM_PLAIN, 'base64');
      const k = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports as SimdPlumbing;
      const heap = new Float32Array(memory.buffer);
      const i32 = new Int32Array(memory.buffer);
      // P = 7 pixels, s = 2 splits of ws = 8 channels, blocks [1, 2] (block widths 8 and 4).
      const P = 7, ws = 8, blocks = [1, 2], W = 16;
      let at = 64; // float index allocator (16-byte aligned)
      const alloc = (n: number) => { const a = at; at += Math.ceil(n / 4) * 4; return a; };
      const x = alloc(P * W), sc = alloc(W), sh = alloc(W), tab = alloc(2 * (W / 4));
      const parts = blocks.map(() => alloc(P * ws));
      heap.set(rand(P * W, 1), x);
      heap.set(rand(W, 2).map((v) => v + 1.5), sc);
      heap.set(rand(W, 3), sh);
      blocks.forEach((B, i) => {
        const cb = ws / B;
        for (let kk = 0; kk < ws; kk += 4) {
          const b = Math.floor(kk / cb);
          const g = (i * ws + kk) / 4;
          i32[tab + 2 * g] = 4 * (parts[i]! + b * P * cb + (kk - b * cb));
          i32[tab + 2 * g + 1] = 4 * cb;
        }
      });
      k.split_blocks(4 * x, P, W / 4, 4 * sc, 4 * sh, 4 * tab);
      const relu = (v: number) => Math.max(0, Math.fround(Math.fround(v)));
      const affine = (v: number, c: number) => relu(Math.fround(Math.fround(v * heap[sc + c]!) + heap[sh + c]!));
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < W; c++) {
          const i = Math.floor(c / ws), kk = c % ws, cb = ws / blocks[i]!, b = Math.floor(kk / cb);
          const want = affine(heap[x + p * W + c]!, c);
          expect(heap[parts[i]! + b * P * cb + p * cb + (kk - b * cb)]).toBe(want);
        }
      }
      // gather back with identity BN: y = ReLU(parts) = the split values; sum over the splits.
      const one = alloc(W), zero = alloc(W), y = alloc(P * W), sum = alloc(P * ws);
      heap.fill(1, one, one + W);
      heap.fill(0, zero, zero + W);
      k.gather_blocks(4 * y, P, W / 4, 4 * one, 4 * zero, 4 * tab, 4 * sum, 2, ws / 4);
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < W; c++) expect(heap[y + p * W + c]).toBe(affine(heap[x + p * W + c]!, c));
        for (let kk = 0; kk < ws; kk++) expect(heap[sum + p * ws + kk]).toBe(Math.fround(heap[y + p * W + kk]! + heap[y + p * W + ws + kk]!));
      }
      const m = alloc(P * ws), out = alloc(P * W);
      heap.set(rand(P * ws, 4), m);
      k.add_every_split(4 * y, 4 * m, 4 * out, P, 2, ws / 4);
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < W; c++) expect(heap[out + p * W + c]).toBe(Math.fround(heap[y + p * W + c]! + heap[m + p * ws + (c % ws)]!));
      }
    });
  }
});

describe('TiedBottleneck heap passes on the wasm heap: SIMD = JavaScript loops = tf ops', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });
  afterAll(() => setSimdPlumbing(true));

  it('finds the backend memory and instantiates the module once', () => {
    expect(backendMemory()).not.toBeNull();
    const a = simdPlumbing();
    expect(a).not.toBeNull();
    expect(simdPlumbing()).toBe(a);
    setSimdPlumbing(false);
    expect(simdPlumbing()).toBeNull();
    setSimdPlumbing(true);
  });

  /** BN + ReLU, then split i → [B_i·n, h, w, ws/B_i] block-major, with tf ops. */
  function reference(x: tf.Tensor4D, blocks: number[], scale: tf.Tensor1D, shift: tf.Tensor1D): tf.Tensor4D[] {
    const [n, h, w, W] = x.shape;
    const ws = W / blocks.length;
    const y = tf.relu(tf.add(tf.mul(x, scale), shift));
    return (tf.split(y, blocks.length, 3) as tf.Tensor4D[]).map((part, i) => {
      const B = blocks[i]!;
      return tf.reshape(tf.transpose(tf.reshape(part, [n, h, w, B, ws / B]), [3, 0, 1, 2, 4]), [B * n, h, w, ws / B]) as tf.Tensor4D;
    });
  }

  const cases: { name: string; shape: [number, number, number, number]; blocks: number[] }[] = [
    { name: 'TiedResNet splits [1, 2, 4, 8], ws = 32, batch 2, odd map', shape: [2, 5, 7, 128], blocks: [1, 2, 4, 8] },
    { name: 'ws = 16, blocks [1, 4]', shape: [1, 3, 4, 32], blocks: [1, 4] },
    { name: 'block width 3 (falls back to the loops)', shape: [1, 4, 3, 12], blocks: [1, 2] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const [n, , , W] = c.shape;
      const s = c.blocks.length;
      const ws = W / s;
      const x = tf.tensor4d(rand(c.shape.reduce((a, b) => a * b, 1), 11), c.shape);
      const scale = tf.tensor1d(rand(W, 12).map((v) => v + 1.2));
      const shift = tf.tensor1d(rand(W, 13));
      const shift2 = tf.tensor1d(rand(W, 14));
      const m = tf.tensor4d(rand(n * c.shape[1] * c.shape[2] * ws, 15), [n, c.shape[1], c.shape[2], ws]);
      const before = tf.memory().numTensors;
      const results: Record<string, Float32Array[]> = {};
      for (const mode of ['simd', 'js'] as const) {
        setSimdPlumbing(mode === 'simd');
        const parts = splitToBlocks(x, c.blocks, scale, shift);
        const { y, sum } = blocksToChannels(parts, n, scale, shift2, true);
        const noSum = blocksToChannels(parts, n, scale, shift2, false);
        expect(noSum.sum).toBeNull();
        const added = addToEverySplit(y, m);
        results[mode] = [...parts, y, sum!, noSum.y, added].map((t) => t.dataSync() as Float32Array);
        tf.dispose([...parts, y, sum!, noSum.y, added]);
      }
      setSimdPlumbing(true);
      expect(tf.memory().numTensors).toBe(before);
      // The loops compute the affine map in float64, the SIMD module in float32: ≤ 1 ulp apart per value.
      results.simd!.forEach((a, i) => {
        const b = results.js![i]!;
        expect(a.length).toBe(b.length);
        for (let j = 0; j < a.length; j++) expect(Math.abs(a[j]! - b[j]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(b[j]!)));
      });
      // Against tf ops.
      const ref = reference(x, c.blocks, scale, shift);
      ref.forEach((r, i) => {
        const want = r.dataSync();
        const got = results.simd![i]!;
        for (let j = 0; j < want.length; j++) expect(Math.abs(got[j]! - want[j]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[j]!)));
      });
      const yRef = tf.relu(tf.add(tf.mul(tf.concat(ref.map((p, i) => {
        const B = c.blocks[i]!;
        return tf.reshape(tf.transpose(tf.reshape(p, [B, n * c.shape[1] * c.shape[2], ws / B]), [1, 0, 2]), [n, c.shape[1], c.shape[2], ws]);
      }), 3), scale), shift2));
      const yWant = yRef.dataSync();
      const yGot = results.simd![s]!;
      for (let j = 0; j < yWant.length; j++) expect(Math.abs(yGot[j]! - yWant[j]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(yWant[j]!)));
      const sumWant = tf.sum(tf.reshape(yRef, [n * c.shape[1] * c.shape[2], s, ws]), 1).dataSync();
      const sumGot = results.simd![s + 1]!;
      for (let j = 0; j < sumWant.length; j++) expect(Math.abs(sumGot[j]! - sumWant[j]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(sumWant[j]!)));
      const addWant = tf.add(tf.reshape(yRef, [n, c.shape[1], c.shape[2], s, ws]), tf.reshape(m, [n, c.shape[1], c.shape[2], 1, ws])).dataSync();
      const addGot = results.simd![s + 3]!;
      for (let j = 0; j < addWant.length; j++) expect(Math.abs(addGot[j]! - addWant[j]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(addWant[j]!)));
      tf.dispose([x, scale, shift, shift2, m, yRef, ...ref]);
    });
  }
});
