/**
 * The RoIAlign inner loop (src/ops/roi-align-accum.ts): the assembled WebAssembly SIMD module against the
 * JavaScript loop for every tail length (16-wide, 4-wide and scalar paths), on shared and unshared memories, and the
 * heap memory is the one the wasm backend uses (so the fixture tests exercise the SIMD path).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { accumModuleBytes, heapMemory, instantiateAccum, jsMemory } from '../../src/ops/roi-align-accum.js';
import { setupBackend } from '../nn/helpers.js';

type WasmMemoryCtor = new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer | SharedArrayBuffer };
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryCtor } }).WebAssembly.Memory;

describe('accum module', () => {
  for (const shared of [false, true]) {
    it(`matches the JavaScript loop for all lengths (${shared ? 'shared' : 'unshared'} memory)`, () => {
      const memory = new WasmMemory(shared ? { initial: 4, maximum: 64, shared: true } : { initial: 4 });
      const fn = instantiateAccum(memory);
      expect(fn).not.toBeNull();
      const f = new Float32Array(memory.buffer);
      const ref = new Float32Array(f.length);
      for (let i = 0; i < 60000; i++) ref[i] = f[i] = Math.sin(i * 1.7) * 2;
      const js = jsMemory(ref);
      const calls: [number, number, number, number, number, number][] = [];
      for (const len of [1, 3, 4, 5, 15, 16, 17, 31, 37, 64, 256, 257]) {
        for (const n of [0, 1, 2, 5]) calls.push([40000 + calls.length * 300, 100 + n * 7, len + 3, 50000 + n, n, len]);
      }
      for (const [dst, src, stride, w, n, len] of calls) {
        fn!(dst * 4, src * 4, stride * 4, w * 4, n, len);
        js.accum(dst, src, stride, w, n, len);
      }
      let maxDiff = 0;
      for (let i = 0; i < 60000; i++) maxDiff = Math.max(maxDiff, Math.abs(f[i]! - ref[i]!));
      // float32 multiply-then-add (wasm) vs a double product rounded once (JS): a few ulps of values up to ~20.
      expect(maxDiff).toBeLessThan(1e-5);
    });
  }

  it('is a small WebAssembly 1.0-format binary', () => {
    for (const shared of [false, true]) {
      const bytes = accumModuleBytes(shared);
      expect(Array.from(bytes.subarray(0, 8))).toEqual([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
      expect(bytes.length).toBeLessThan(1024);
    }
  });
});

describe('heapMemory', () => {
  it('is the wasm backend heap (SIMD path) on wasm, and absent on cpu', async () => {
    await setupBackend();
    if (tf.getBackend() === 'wasm') {
      const mem = heapMemory();
      expect(mem).not.toBeNull();
      const t = tf.tensor1d([1, 2, 3, 4, 5]);
      const w = tf.tensor1d([0.5]);
      const be = tf.backend() as unknown as { typedArrayFromHeap(t: tf.Tensor): Float32Array };
      mem!.refresh();
      const at = be.typedArrayFromHeap(t).byteOffset >> 2;
      const wAt = be.typedArrayFromHeap(w).byteOffset >> 2;
      mem!.accum(at, at, 0, wAt, 1, 5); // t += 0.5·t
      expect(Array.from(t.dataSync())).toEqual([1.5, 3, 4.5, 6, 7.5]);
      tf.dispose([t, w]);
    }
    const before = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      expect(heapMemory()).toBeNull();
    } finally {
      await tf.setBackend(before);
    }
  });
});
