/**
 * GPU faults during a training step (webgpu: the device was lost, a buffer could not be allocated — out of memory
 * or over the adapter's maxBufferSize) turned into one error that names the iteration, the batch and the input size,
 * and says what to change. WebGPU reports such faults asynchronously (src/engine/webgpu.ts records them); the loop
 * checks after each micro-batch's read, so a faulty step is never applied nor checkpointed — the last checkpoint
 * (written atomically) stays what it was.
 */
import * as tf from '@tensorflow/tfjs';
import { webgpuFault } from '../engine/webgpu.js';

export class DeviceFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceFaultError';
  }
}

const GPU_FAULT = /out of memory|device (was |is )?lost|GPUOutOfMemoryError|exceeds the max buffer size|maxBufferSize|allocation failed/i;

/** "a batch of 2 images of 1333×800" from a batch with an `images` tensor [n, H, W, C], else "this micro-batch". */
export function describeBatch(batch: unknown): string {
  const images = (batch as { images?: unknown } | null)?.images;
  if (images instanceof tf.Tensor && images.rank === 4) {
    const [n, h, w] = images.shape;
    return `a batch of ${n} image${n === 1 ? '' : 's'} of ${w}×${h} (W×H, padded)`;
  }
  return 'this micro-batch';
}

function message(fault: string, batch: unknown, iteration: number): string {
  return (
    `GPU fault in training iteration ${iteration} on ${describeBatch(batch)}: ${fault}. ` +
    'The step was not applied and the last checkpoint is intact; lower data.batchSize or the input size ' +
    '(the resize scale), or use a GPU with more memory, then resume with --resume'
  );
}

/** Throw a `DeviceFaultError` when the GPU device has reported a fault. */
export function assertDeviceHealthy(batch: unknown, iteration: number): void {
  const f = webgpuFault();
  if (f) throw new DeviceFaultError(message(f, batch, iteration));
}

/** `e` as a `DeviceFaultError` when it (or the device) reports a GPU fault; other errors unchanged. */
export function deviceFaultError(e: unknown, batch: unknown, iteration: number): unknown {
  if (e instanceof DeviceFaultError) return e;
  const f = webgpuFault();
  if (f) return new DeviceFaultError(message(f, batch, iteration));
  const msg = e instanceof Error ? e.message : String(e);
  if (tf.getBackend() === 'webgpu' && GPU_FAULT.test(msg)) return new DeviceFaultError(message(msg.split('\n')[0]!, batch, iteration));
  return e;
}
