/**
 * tiedet's kernels for the TF.js wasm backend: the gradient kernels stock TF.js 4.22 lacks on wasm
 * (`Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` / `…Input`, `UnsortedSegmentSum`) and faster
 * `Conv2DBackpropInput` and `MaxPoolGrad` in place of the stock ones, a `Transpose` that first merges axes
 * (transpose.ts; rank-5/6 transposes are ~10× slower than the equivalent rank-3 one), and an `Identity` that shares
 * its input's buffer instead of copying it (identity.ts; every `tf.clone`, every tensor a custom op saves). Each is built from ops wasm runs fast
 * (XNNPACK conv, depthwise conv and untransposed rank-2 matMul; rank-2/3/4 transposes in the orders wasm does
 * quickly; copies and loops on the wasm heap); see the file of each kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterKernel, KERNEL as CONV_FILTER } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputKernel, KERNEL as CONV_INPUT } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilterKernel, KERNEL as DW_FILTER } from './depthwise-backprop-filter.js';
import { depthwiseBackpropInputKernel, KERNEL as DW_INPUT } from './depthwise-backprop-input.js';
import { makeIdentityKernel, KERNEL as IDENTITY } from './identity.js';
import { maxPoolGradKernel, KERNEL as MAX_POOL_GRAD } from './max-pool-grad.js';
import { makeTransposeKernel, KERNEL as TRANSPOSE } from './transpose.js';
import { unsortedSegmentSumKernel, KERNEL as SEGMENT_SUM } from './unsorted-segment-sum.js';

const BACKEND = 'wasm';

interface Entry {
  kernelName: string;
  /** Our kernel; `stock` is the wasm kernel of the same name, if there is one (a wrapper may delegate to it). */
  make: (stock: tf.KernelFunc | undefined) => tf.KernelFunc;
}

/** An entry whose kernel wraps the stock wasm kernel of the same name (which must exist). */
function wrapping(kernelName: string, wrap: (stock: tf.KernelFunc) => tf.KernelFunc): Entry {
  return {
    kernelName,
    make: (stock) => {
      if (!stock) throw new Error(`tiedet engine: the wasm backend has no ${kernelName} kernel to wrap`);
      return wrap(stock);
    },
  };
}

const KERNELS: Entry[] = [
  { kernelName: CONV_FILTER, make: () => conv2dBackpropFilterKernel as tf.KernelFunc },
  { kernelName: CONV_INPUT, make: () => conv2dBackpropInputKernel as tf.KernelFunc },
  { kernelName: DW_FILTER, make: () => depthwiseBackpropFilterKernel as tf.KernelFunc },
  { kernelName: DW_INPUT, make: () => depthwiseBackpropInputKernel as tf.KernelFunc },
  { kernelName: SEGMENT_SUM, make: () => unsortedSegmentSumKernel as tf.KernelFunc },
  { kernelName: MAX_POOL_GRAD, make: () => maxPoolGradKernel as tf.KernelFunc },
  wrapping(IDENTITY, makeIdentityKernel),
  wrapping(TRANSPOSE, makeTransposeKernel),
];

/** Stock wasm kernels we replaced, kept for benchmarks and comparisons. */
const replaced = new Map<string, tf.KernelConfig>();
/** The kernel functions tiedet registered, so that a second call recognises them. */
const ours = new Set<tf.KernelFunc>();

/**
 * Register tiedet's wasm kernels (idempotent). A stock kernel of the same name is replaced (and kept, see
 * `stockWasmKernel`); a kernel already registered by tiedet is left alone. Returns the names registered by this
 * call. Call after the wasm backend exists; registering does not need it to be the active backend.
 */
export function registerWasmKernels(): string[] {
  const done: string[] = [];
  for (const { kernelName, make } of KERNELS) {
    const existing = tf.getKernel(kernelName, BACKEND);
    if (existing && ours.has(existing.kernelFunc)) continue;
    const kernelFunc = make(existing?.kernelFunc);
    if (existing) {
      replaced.set(kernelName, existing);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc });
    ours.add(kernelFunc);
    done.push(kernelName);
  }
  return done;
}

/** The names of all kernels tiedet provides for wasm. */
export function wasmKernelNames(): string[] {
  return KERNELS.map((k) => k.kernelName);
}

/** The stock wasm kernel that `registerWasmKernels` replaced (e.g. 'Conv2DBackpropInput'), if any. */
export function stockWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return replaced.get(kernelName);
}
