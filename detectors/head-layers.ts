/**
 * Building blocks the detection heads share (RetinaNet's `RetinaHead`, Mask R-CNN's `Shared2FCBBoxHead` and
 * `FCNMaskHead`):
 *
 * - `stackLayers`: mmdetection's stacked layers of one width — `count` layers, the first taking the head's input
 *   width, the others the stack's (`stacked_convs`, `num_shared_fcs`, `num_convs`) — and the width that comes out
 *   (the input width when the stack is empty). Layers are built first to last, so a shared `Rng` is consumed in
 *   layer order, as PyTorch initialises them.
 * - `convStack`: the conv version, `count` × mmcv `ConvModule` (3×3 "same" conv with bias 0, ReLU) — state-dict
 *   names `{i}.conv.weight|bias` under the list the head registers.
 * - `checkNumClasses`: the class count every head validates, with the head's name in the error.
 */
import { ConvModule } from '../src/nn/conv-module.js';
import { zeros, type Initializer } from '../src/nn/init.js';
import type { Rng } from '../src/nn/rng.js';

/** A built stack and its output width. */
export interface LayerStack<M> {
  layers: M[];
  /** Width after the stack: the stack's width, or the input width when `count` is 0. */
  outChannels: number;
}

/** `count` layers `make(in, width)`: the first with `in = inChannels`, the others `in = width` (built in order). */
export function stackLayers<M>(count: number, inChannels: number, width: number, make: (inChannels: number, outChannels: number) => M): LayerStack<M> {
  const layers = Array.from({ length: count }, (_, i) => make(i === 0 ? inChannels : width, width));
  return { layers, outChannels: count > 0 ? width : inChannels };
}

export interface ConvStackOptions {
  count: number;
  inChannels: number;
  /** Width of every conv. */
  channels: number;
  rng: Rng;
  weightInit: Initializer;
}

/** `count` × (conv 3×3, `channels`, bias 0, ReLU) as mmcv `ConvModule`s. */
export function convStack(opts: ConvStackOptions): LayerStack<ConvModule> {
  return stackLayers(
    opts.count,
    opts.inChannels,
    opts.channels,
    (inChannels, outChannels) =>
      new ConvModule({ inChannels, outChannels, kernelSize: 3, relu: true, rng: opts.rng, weightInit: opts.weightInit, biasInit: zeros }),
  );
}

/** Throws `${owner}: numClasses must be a positive integer, got …` unless `numClasses` is an integer ≥ 1. */
export function checkNumClasses(owner: string, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`${owner}: numClasses must be a positive integer, got ${numClasses}`);
  }
}
