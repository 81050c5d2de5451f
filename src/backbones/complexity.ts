/**
 * Model complexity: exact parameter counts (read from the module) and multiply–accumulates (MACs) for a given
 * input size, computed analytically layer by layer — shape inference only, no tensor is allocated and nothing
 * runs, so counting a ResNet-101 at 800×1333 is instant.
 *
 * Convention (fvcore's / torchvision's, stated wherever a number is shown): only convolutions and
 * fully-connected layers are counted, one MAC per multiply–add; bias additions, BatchNorm, ReLU, pooling, the
 * residual adds, SE's channel scaling and the mixer's adds are NOT counted. With this rule torchvision's
 * ResNet-50 at 224×224 has 4,089,184,256 MACs — torchvision's published "4.09 GFLOPS" and the paper's "4.1 G".
 * (mmcv's `get_model_complexity_info` also counts BN (2 per element), ReLU (1 per element) and pooling (1 per
 * input element) and reports 4.12 G for the same network: 4,121,924,096 by its rules, recomputed here with
 * torchvision forward hooks. We do not use that convention.)
 *
 * Per layer, for an output of H′×W′ pixels:
 *   conv  (k×k, C → C′, G groups)           k²·(C/G)·C′·H′·W′
 *   TBC   (B tied blocks, shared filter G)  k²·(C/(B·G))·(C′/B)·B·H′·W′ = k²·C·C′/(B·G)·H′·W′   (PAPER.md)
 *   linear (C → C′)                          C·C′ per sample
 *   TFC   (B tied blocks)                   (C/B)·(C′/B)·B = C·C′/B per sample
 * Batch size 1. Modules describe their own data flow by implementing `CountsMacs`.
 */
import { TiedBlockConv2d } from '../layers/tbc.js';
import { TiedLinear } from '../layers/tfc.js';
import { Conv2d } from '../nn/conv2d.js';
import { convOutputSize } from '../nn/functional.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';

/** A feature map's [height, width, channels] (batch 1). */
export type FeatureShape = readonly [number, number, number];

export type CountedKind = 'conv' | 'tbc' | 'linear' | 'tfc';

export interface LayerCount {
  /** Dotted module name (the state-dict prefix), e.g. `layer1.0.conv2`. */
  name: string;
  kind: CountedKind;
  /** Parameters of this layer (weight + bias). */
  params: number;
  macs: number;
  /** [h, w, c] for convs, [c] for fully-connected layers. */
  output: readonly number[];
}

/** Collects per-layer MACs while a model walks its own structure (see `CountsMacs`). */
export class MacCounter {
  readonly layers: LayerCount[] = [];

  /** A `Conv2d` (any groups, incl. `GroupedConv2d`) or `TiedBlockConv2d` applied to `input`; returns its output shape. */
  conv(name: string, m: Conv2d | TiedBlockConv2d, input: FeatureShape): FeatureShape {
    const [h, w, c] = input;
    if (c !== m.inChannels) {
      throw new Error(`MacCounter: ${name} expects ${m.inChannels} input channels, the walk gives ${c}`);
    }
    const ho = convOutputSize(h, m.kernelSize[0], m.stride[0], m.padding[0], m.dilation[0]);
    const wo = convOutputSize(w, m.kernelSize[1], m.stride[1], m.padding[1], m.dilation[1]);
    const k2 = m.kernelSize[0] * m.kernelSize[1];
    const tied = m instanceof TiedBlockConv2d;
    const divisor = m.groups * (tied ? m.blocks : 1);
    const macs = (k2 * m.inChannels * m.outChannels * ho * wo) / divisor;
    this.layers.push({ name, kind: tied ? 'tbc' : 'conv', params: paramsOf(m), macs, output: [ho, wo, m.outChannels] });
    return [ho, wo, m.outChannels];
  }

  /** A `Linear` or `TiedLinear` on a [features] vector; returns its output size. */
  linear(name: string, m: Linear | TiedLinear, features: number): number {
    if (features !== m.inFeatures) {
      throw new Error(`MacCounter: ${name} expects ${m.inFeatures} input features, the walk gives ${features}`);
    }
    const tied = m instanceof TiedLinear;
    const macs = (m.inFeatures * m.outFeatures) / (tied ? m.blocks : 1);
    this.layers.push({ name, kind: tied ? 'tfc' : 'linear', params: paramsOf(m), macs, output: [m.outFeatures] });
    return m.outFeatures;
  }

  /** Sum of the MACs recorded so far. */
  get macs(): number {
    return this.layers.reduce((s, l) => s + l.macs, 0);
  }
}

function paramsOf(m: Module): number {
  return m.numParameters();
}

/** A module that can describe its MACs for an input of a given shape without running. */
export interface CountsMacs {
  /** Record every counted layer under `prefix` (dotted, '' at the top) and return the output shape. */
  countMacs(counter: MacCounter, prefix: string, input: FeatureShape): FeatureShape;
}

/** Join a dotted prefix and a child name. */
export function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

export interface Complexity {
  /** Input [height, width] (batch 1, 3 channels unless stated). */
  input: readonly [number, number];
  /** All parameters (buffers excluded). */
  params: number;
  /** Parameters that currently receive gradients (frozen stages excluded). */
  trainableParams: number;
  /** Conv + linear MACs (see the file comment). */
  macs: number;
  /** Per counted layer, in execution order. */
  layers: LayerCount[];
  /** Output shape of the walk (e.g. [1000] for a classifier, C5's [h, w, c] for a headless backbone). */
  output: FeatureShape;
}

/**
 * Parameters and MACs of `model` for one [h, w] input with `channels` channels (default 3). The parameter count
 * is the module's own (`numParameters()`); the MACs come from `model.countMacs`.
 */
export function complexity(model: Module & CountsMacs, input: readonly [number, number], channels = 3): Complexity {
  const [h, w] = input;
  if (![h, w].every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`complexity: input must be positive integers [h, w], got [${input.join(', ')}]`);
  }
  const counter = new MacCounter();
  const output = model.countMacs(counter, '', [h, w, channels]);
  return {
    input: [h, w],
    params: model.numParameters(),
    trainableParams: model.numParameters({ trainableOnly: true }),
    macs: counter.macs,
    layers: counter.layers,
    output,
  };
}
