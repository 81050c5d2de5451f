/**
 * `keptWinogradFilters`: the eval-mode Winograd filters of a conv's (possibly BN-folded) weight, kept on the module
 * that owns it (`Module.derived`, derived-tensors.ts) until one of their sources changes — the one place the inference
 * paths (`convForward`, `convBn`, `TiedConv2d.forwardBlocks`) decide to keep them. Without the per-call weight
 * transform Winograd pays from 64 output tiles instead of 512 (engine/kernels/winograd-conv.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { winogradApplies, winogradFilters } from '../engine/kernels/winograd-conv.js';
import { derivedTensorsEnabled } from './derived-tensors.js';
import type { Module } from './module.js';

/** What a conv module contributes to the shape check. */
export interface ConvGeometryOwner extends Module {
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
  readonly groups: number;
}

/**
 * The 36 transformed filters of `weight` for an inference call on `x`, kept on `owner` and rebuilt when `sources`
 * (default: the weight) change; null in training mode, with keeping off (`setDerivedTensors(false)`), or where
 * Winograd does not pay for `x` even with kept filters.
 */
export function keptWinogradFilters(owner: ConvGeometryOwner, x: tf.Tensor4D, weight: tf.Tensor4D, sources: readonly tf.Tensor[] = [weight]): tf.Tensor4D[] | null {
  if (owner.training || !derivedTensorsEnabled() || !winogradApplies(x, weight, owner, true)) return null;
  return owner.derived.get('winograd', sources, () => winogradFilters(weight));
}
