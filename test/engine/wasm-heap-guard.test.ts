import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { guardWasmMalloc, WasmHeapExhaustedError, type WasmHeapModule } from '../../src/engine/wasm-heap-guard.js';

describe('wasm heap guard', () => {
  it('a failed allocation throws a clear error instead of returning address 0; successes pass through', () => {
    const calls: number[] = [];
    const module: WasmHeapModule = {
      _malloc: (n: number) => {
        calls.push(n);
        return n > 1000 ? 0 : 64;
      },
      wasmMemory: { buffer: new ArrayBuffer(2048) },
    };
    guardWasmMalloc(module);
    guardWasmMalloc(module); // idempotent: wrapped once
    expect(module._malloc(16)).toBe(64);
    expect(module._malloc(0)).toBe(64);
    let err: unknown;
    try {
      module._malloc(300 * 2 ** 20);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WasmHeapExhaustedError);
    expect((err as Error).message).toMatch(/^wasm heap exhausted: could not allocate 300 MB \(the heap is at 0\.00 GiB of its 4 GiB limit\)\. .*data\.scale.*tfjs-node-gpu/);
    expect(calls).toEqual([16, 0, 300 * 2 ** 20]);
  });

  it('initEngine guards the wasm backend that TF.js allocates through', async () => {
    const info = await initEngine({ backend: 'wasm' });
    expect(info.backend).toBe('wasm');
    const wasm = (tf.backend() as unknown as { wasm: WasmHeapModule & Record<symbol, unknown> }).wasm;
    expect(wasm[Symbol.for('tiedet.wasmMallocGuarded')]).toBe(true);
    const t = tf.tensor1d([1, 2, 3]); // allocations still work
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    t.dispose();
  });
});
