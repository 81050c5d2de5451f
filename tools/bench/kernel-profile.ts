/** Per-kernel time of one call of `run` (tf.profile), aggregated by kernel name, as a table. For bench scripts. */
import * as tf from '@tensorflow/tfjs';
import { table } from './harness.js';

export interface KernelProfile {
  /** Wall time of the profiled call. */
  wallMs: number;
  /** Sum of kernel times (nested kernels, e.g. inside a custom op, count in both). */
  kernelMs: number;
  kernels: Map<string, { ms: number; calls: number }>;
  /** Kernels by total time, descending, with their share. */
  table: string;
}

export async function profileKernels(run: () => Promise<void>): Promise<KernelProfile> {
  const t0 = performance.now();
  const prof = await tf.profile(run);
  const wallMs = performance.now() - t0;
  const kernels = new Map<string, { ms: number; calls: number }>();
  for (const k of prof.kernels) {
    const a = kernels.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += k.kernelTimeMs as number;
    a.calls += 1;
    kernels.set(k.name, a);
  }
  const rows = [...kernels].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((s, [, a]) => s + a.ms, 0);
  const text = table(
    ['kernel', 'ms', 'calls', 'share'],
    rows.map(([n, a]) => [n, a.ms, a.calls, `${((100 * a.ms) / kernelMs).toFixed(1)} %`]),
  );
  return { wallMs, kernelMs, kernels, table: text };
}
