/**
 * A clear error when the wasm heap cannot hold a new tensor, instead of silent memory corruption.
 *
 * The wasm backend's heap is wasm32: at most 4 GiB. When an allocation does not fit, emscripten's `malloc` returns
 * 0, and TF.js 4.22 (`BackendWasm.write`, used for every tensor it creates) takes that 0 as the tensor's address
 * without checking, so the new tensor would overlap whatever lives at the bottom of the heap. `guardWasmMalloc`
 * wraps the module's `_malloc` (the one TF.js calls) so that a failed allocation throws `WasmHeapExhaustedError`,
 * saying what to do about it.
 *
 * Limits: allocations made inside the wasm code (XNNPACK's packing buffers, the tensor registry) do not pass through
 * it; when one of those fails the backend aborts (`Aborted()`), which the CLI explains (tools/cli-error.ts). Near the
 * cap the allocator also slows to a crawl before anything fails — the "training cliff" once measured at 448×768 and
 * above; the memory-releasing backward pass (eager-backprop.ts) and activation checkpointing (nn/activation-checkpoint.ts)
 * keep a 1333×800 Mask R-CNN step at 2.9 GiB (README "Training engine").
 */

export class WasmHeapExhaustedError extends Error {
  constructor(
    readonly bytes: number,
    readonly heapBytes: number,
  ) {
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
    super(
      `wasm heap exhausted: could not allocate ${mb(bytes)} (the heap is at ${(heapBytes / 2 ** 30).toFixed(2)} GiB of ` +
        'its 4 GiB limit). The wasm backend cannot address more memory: use smaller inputs (data.scale), a smaller ' +
        'batch (data.batchSize, with train.accumulate to keep the effective batch), or @tensorflow/tfjs-node-gpu ' +
        '(README "Which backend runs").',
    );
    this.name = 'WasmHeapExhaustedError';
  }
}

/** The parts of the emscripten module the guard touches. */
export interface WasmHeapModule {
  _malloc(bytes: number): number;
  wasmMemory?: { buffer: ArrayBufferLike };
}

const GUARDED = Symbol.for('tiedet.wasmMallocGuarded');

/** Make a failed `_malloc` (0 for a non-zero size) throw `WasmHeapExhaustedError`. Idempotent. */
export function guardWasmMalloc(module: WasmHeapModule): void {
  const m = module as WasmHeapModule & { [GUARDED]?: true };
  if (m[GUARDED]) return;
  const malloc = m._malloc.bind(m);
  m._malloc = (bytes: number): number => {
    const ptr = malloc(bytes);
    if (ptr === 0 && bytes > 0) throw new WasmHeapExhaustedError(bytes, m.wasmMemory?.buffer.byteLength ?? 0);
    return ptr;
  };
  m[GUARDED] = true;
}
