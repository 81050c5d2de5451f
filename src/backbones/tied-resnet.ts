/**
 * TiedBottleneck and the TiedResNet / TiedResNeXt family (PAPER.md "TiedBottleneck / TiedResNet"; every choice
 * the paper leaves open is ours, documented with its parameter arithmetic in ARCHITECTURE.md).
 *
 * One TiedBottleneck ("s splits × w base width"; planes p = 64·2^stage, split width ws = ⌊p·w/64⌋, bottleneck
 * width W = s·ws, output 4p):
 *
 *   x ─ conv1: TBC 1×1, C_in → W, B = 2 ─ bn1 ─ ReLU ─ split into s contiguous slices of ws channels
 *       slice i ─ conv2.i: TBC 3×3 (stride), ws → ws, B_i (default 1, 2, 4, 8), TGC with `groups` for TiedResNeXt
 *     ─ concat ─ bn2 ─ ReLU → y_1 … y_s
 *     mixer (default 'sum'): m = ReLU(BN(conv 3×3(Σ_i y_i)))   ('concat': conv 3×3 on [y_1 … y_s], W → ws)
 *     y_i ← y_i + m  (the mixed features return to every split)
 *   ─ conv3: 1×1 standard, W → 4p ─ bn3 ─ [SE / TiedSE] ─ + shortcut (downsample.0/1 on the first block) ─ ReLU
 *
 * Names: `conv1`, `bn1`, `conv2.0` … `conv2.{s−1}`, `bn2` (one BN over the concatenated splits — identical to s
 * per-split BNs, one op instead of s), `mixer.0` (conv), `mixer.1` (BN), `conv3`, `bn3`, `se.fc.*`,
 * `downsample.0/1`. TBC weights are the shared filters [k, k, c/(B·G), c′/B].
 *
 * B that does not divide a width (w = 18: ws = 18, 36 with B = 4, 8): `blockPolicy` 'largest-divisor' (default)
 * uses the largest divisor of ws not above B (18: 1, 2, 3, 6; 36: 1, 2, 4, 6; 72, 144: 1, 2, 4, 8); 'strict'
 * throws. The same rule fits TGC groups to the block width ws/B and the entry B to gcd(C_in, W).
 */
import * as tf from '@tensorflow/tfjs';
import { TiedBlockConv2d, type TiedBlockConv2dOptions } from '../layers/tbc.js';
import type { TiedSE } from '../layers/tied-se.js';
import { addToEverySplit, blocksToChannels, splitToBlocks } from '../engine/kernels/tensor-plumbing.js';
import { BatchNorm2d } from '../nn/batchnorm2d.js';
import type { Conv2d } from '../nn/conv2d.js';
import { canFoldBn, convBn, foldedBn } from '../nn/conv-bn.js';
import { conv2d } from '../nn/functional.js';
import { keptWinogradFilters } from '../nn/kept-winograd.js';
import { winogradConv3x3 } from '../engine/kernels/winograd-conv.js';
import { groupedConv2d, type GroupedConvImplChoice } from '../nn/grouped-conv.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { joinName, type FeatureShape, type MacCounter } from './complexity.js';
import { tiedSplitConvs } from './tied-split-convs.js';
import {
  ResNet,
  convNoBias,
  countDownsample,
  countSE,
  downsampleForward,
  makeDownsample,
  makeSE,
  type BackboneOptions,
  type BlockContext,
  type ResidualBlock,
  type SEConfig,
} from './resnet.js';

export type MixerKind = 'none' | 'sum' | 'concat';
export type BlockPolicy = 'largest-divisor' | 'strict';

export interface TiedBottleneckConfig {
  /** s: splits of the 3×3 stage; default 4. */
  splits?: number;
  /** w: width of one split in stage 1 (planes 64); doubles per stage; default 32. */
  baseWidth?: number;
  /**
   * B of each split's 3×3 TBC: one list of length s for all stages (default [1, 2, 4, 8]), or four lists (one
   * per stage).
   */
  splitBlocks?: readonly number[] | readonly (readonly number[])[];
  /** B of the entry 1×1 TBC; default 2. */
  entryBlocks?: number;
  /** How the split outputs are fused; default 'sum'. */
  mixer?: MixerKind;
  /** Mixer kernel size (odd); default 3. */
  mixerKernel?: number;
  /** TGC groups of every split's shared filter (TiedResNeXt: cardinality / s); default 1. */
  groups?: number;
  /** Groups of the mixer conv; default `groups`. */
  mixerGroups?: number;
  /** What to do when B (or groups) does not divide a width; default 'largest-divisor'. */
  blockPolicy?: BlockPolicy;
  /** Output channels = planes · expansion; default 4. */
  expansion?: number;
  /** SE (blocks 1) or TiedSE (blocks B) after bn3; default none. */
  se?: SEConfig;
  /** Grouped-conv formulation for TGC / grouped mixer convs; default 'auto'. */
  groupedConvImpl?: GroupedConvImplChoice;
}

/** `TiedBottleneckConfig` with every default filled in. */
export interface ResolvedTiedConfig {
  splits: number;
  baseWidth: number;
  splitBlocks: readonly (readonly number[])[];
  entryBlocks: number;
  mixer: MixerKind;
  mixerKernel: number;
  groups: number;
  mixerGroups: number;
  blockPolicy: BlockPolicy;
  expansion: number;
  se: SEConfig | undefined;
  groupedConvImpl: GroupedConvImplChoice;
}

export const DEFAULT_SPLIT_BLOCKS: readonly number[] = [1, 2, 4, 8];

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`TiedResNet: ${what} must be a positive integer, got ${v}`);
  return v;
}

export function resolveTiedConfig(c: TiedBottleneckConfig = {}): ResolvedTiedConfig {
  const splits = positiveInt(c.splits ?? 4, 'splits');
  const raw = c.splitBlocks ?? DEFAULT_SPLIT_BLOCKS;
  const perStage: (readonly number[])[] =
    raw.length > 0 && Array.isArray(raw[0]) ? [...(raw as readonly (readonly number[])[])] : [0, 1, 2, 3].map(() => raw as readonly number[]);
  if (perStage.length !== 4) throw new Error(`TiedResNet: splitBlocks per stage needs four lists, got ${perStage.length}`);
  for (const list of perStage) {
    if (list.length !== splits) throw new Error(`TiedResNet: splitBlocks [${list.join(', ')}] must have one B per split (${splits})`);
    list.forEach((b) => positiveInt(b, 'every split B'));
  }
  const mixer = c.mixer ?? 'sum';
  if (!['none', 'sum', 'concat'].includes(mixer)) throw new Error(`TiedResNet: mixer must be none, sum or concat, got "${mixer}"`);
  const mixerKernel = positiveInt(c.mixerKernel ?? 3, 'mixerKernel');
  if (mixerKernel % 2 !== 1) throw new Error(`TiedResNet: mixerKernel must be odd, got ${mixerKernel}`);
  const blockPolicy = c.blockPolicy ?? 'largest-divisor';
  if (blockPolicy !== 'largest-divisor' && blockPolicy !== 'strict') {
    throw new Error(`TiedResNet: blockPolicy must be 'largest-divisor' or 'strict', got "${String(blockPolicy)}"`);
  }
  const groups = positiveInt(c.groups ?? 1, 'groups');
  return {
    splits,
    baseWidth: positiveInt(c.baseWidth ?? 32, 'baseWidth'),
    splitBlocks: perStage,
    entryBlocks: positiveInt(c.entryBlocks ?? 2, 'entryBlocks'),
    mixer,
    mixerKernel,
    groups,
    mixerGroups: positiveInt(c.mixerGroups ?? groups, 'mixerGroups'),
    blockPolicy,
    expansion: positiveInt(c.expansion ?? 4, 'expansion'),
    se: c.se,
    groupedConvImpl: c.groupedConvImpl ?? 'auto',
  };
}

/** The largest divisor of `n` that is ≤ `want` (`want` itself when it divides n). */
export function largestDivisorAtMost(n: number, want: number): number {
  for (let d = Math.min(n, want); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** Fit B (or G) to a width under the policy. */
export function fitToWidth(width: number, want: number, policy: BlockPolicy, what: string): number {
  if (width % want === 0) return want;
  if (policy === 'strict') throw new Error(`TiedResNet: ${what} = ${want} does not divide the width ${width} (blockPolicy 'strict')`);
  return largestDivisorAtMost(width, want);
}

/**
 * `TiedBlockConv2d` whose grouped (TGC) shared filter runs `groupedConv2d` (the per-shape fastest grouped-conv
 * formulation) instead of split + concat. Same parameters, names and semantics.
 */
export class TiedConv2d extends TiedBlockConv2d {
  readonly impl: GroupedConvImplChoice;

  constructor(opts: TiedBlockConv2dOptions & { impl?: GroupedConvImplChoice }) {
    super(opts);
    this.impl = opts.impl ?? 'auto';
  }

  /** The shared filter on input already in block-major batch layout: [B·n, h, w, c/B] → [B·n, h′, w′, c′/B]. */
  forwardBlocks(xb: tf.Tensor4D): tf.Tensor4D {
    const weight = this.weight as tf.Tensor4D;
    const bias = this.bias as tf.Tensor1D | null;
    if (this.groups === 1) {
      // eval mode: the shared filter's Winograd transform is kept until the weight changes (kept-winograd.ts)
      const kept = keptWinogradFilters(this, xb, weight);
      if (kept) return winogradConv3x3(xb, weight, bias, false, kept);
      return conv2d(xb, weight, bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
    }
    const args = { groups: this.groups, stride: this.stride, padding: this.padding, dilation: this.dilation, impl: this.impl };
    return groupedConv2d(xb, weight, args, bias);
  }

  override forward(x: tf.Tensor4D): tf.Tensor4D {
    if (this.groups === 1) return super.forward(x);
    const [n, h, w, c] = x.shape;
    if (x.rank !== 4 || c !== this.inChannels) {
      throw new Error(`TiedConv2d: expected [n, h, w, ${this.inChannels}], got [${x.shape.join(', ')}]`);
    }
    const B = this.blocks;
    const args = { groups: this.groups, stride: this.stride, padding: this.padding, dilation: this.dilation, impl: this.impl };
    const weight = this.weight as tf.Tensor4D;
    const bias = this.bias as tf.Tensor1D | null;
    if (B === 1) return groupedConv2d(x, weight, args, bias);
    return tf.tidy(() => {
      // Blocks into the batch (as TiedBlockConv2d: rank-3 transposes), one grouped conv, back.
      const xb = tf.reshape(tf.transpose(tf.reshape(x, [n * h * w, B, c / B]), [1, 0, 2]), [B * n, h, w, c / B]) as tf.Tensor4D;
      const y = groupedConv2d(xb, weight, args, bias);
      const [, ho, wo, cob] = y.shape;
      return tf.reshape(tf.transpose(tf.reshape(y, [B, n * ho * wo, cob]), [1, 0, 2]), [n, ho, wo, cob * B]) as tf.Tensor4D;
    });
  }
}

/** The s split convs, registered as `0` … `s−1` (keys `conv2.i.weight`). */
class SplitConvs extends Module {
  readonly convs: TiedConv2d[];

  constructor(convs: TiedConv2d[]) {
    super();
    this.convs = convs;
    convs.forEach((m, i) => this.registerModule(String(i), m));
  }
}

export class TiedBottleneck extends Module implements ResidualBlock {
  readonly splits: number;
  /** Channels of one split (ws). */
  readonly splitWidth: number;
  /** Bottleneck width W = s·ws. */
  readonly width: number;
  readonly outChannels: number;
  readonly mixerKind: MixerKind;
  /** Effective B of each split (after fitting to ws). */
  readonly splitBlocks: readonly number[];
  /** Effective TGC groups of each split. */
  readonly splitGroups: readonly number[];
  readonly conv1: TiedConv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: SplitConvs;
  readonly bn2: BatchNorm2d;
  readonly mixer: Sequential<tf.Tensor4D, tf.Tensor4D> | null;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly se: TiedSE | null;
  readonly downsample: Sequential<tf.Tensor4D, tf.Tensor4D> | null;

  constructor(ctx: BlockContext, cfg: ResolvedTiedConfig) {
    super();
    const { rng, convInit: init } = ctx;
    const policy = cfg.blockPolicy;
    this.splits = cfg.splits;
    this.splitWidth = Math.floor((ctx.planes * cfg.baseWidth) / 64);
    if (this.splitWidth < 1) throw new Error(`TiedResNet: baseWidth ${cfg.baseWidth} gives an empty split at planes ${ctx.planes}`);
    const ws = this.splitWidth;
    this.width = cfg.splits * ws;
    this.outChannels = ctx.planes * cfg.expansion;
    this.mixerKind = cfg.mixer;
    const impl = cfg.groupedConvImpl;
    const tbc = (o: Omit<TiedBlockConv2dOptions, 'rng' | 'bias' | 'weightInit'>) =>
      new TiedConv2d({ ...o, bias: false, rng, weightInit: init, impl });

    // Fit every B / group count first: a configuration error must throw before anything is allocated.
    const entryB = fitToWidth(gcd(ctx.inChannels, this.width), cfg.entryBlocks, policy, 'entryBlocks');
    const wantB = cfg.splitBlocks[ctx.stage]!;
    this.splitBlocks = wantB.map((b) => fitToWidth(ws, b, policy, 'split B'));
    this.splitGroups = this.splitBlocks.map((b) => fitToWidth(ws / b, cfg.groups, policy, 'groups'));
    const mixerGroups = cfg.mixer === 'none' ? 1 : fitToWidth(ws, cfg.mixerGroups, policy, 'mixerGroups');
    this.conv1 = this.registerModule('conv1', tbc({ inChannels: ctx.inChannels, outChannels: this.width, kernelSize: 1, blocks: entryB }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: this.width }));
    this.conv2 = this.registerModule(
      'conv2',
      new SplitConvs(
        this.splitBlocks.map((b, i) =>
          tbc({ inChannels: ws, outChannels: ws, kernelSize: 3, stride: ctx.stride, padding: 1, blocks: b, groups: this.splitGroups[i]! }),
        ),
      ),
    );
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: this.width }));
    if (cfg.mixer !== 'none') {
      const mixIn = cfg.mixer === 'sum' ? ws : this.width;
      const g = mixerGroups;
      this.mixer = this.registerModule(
        'mixer',
        new Sequential<tf.Tensor4D, tf.Tensor4D>([
          convNoBias(rng, init, mixIn, ws, cfg.mixerKernel, 1, g, impl),
          new BatchNorm2d({ numFeatures: ws }),
        ]),
      );
    } else {
      this.mixer = null;
    }
    this.conv3 = this.registerModule('conv3', convNoBias(rng, init, this.width, this.outChannels, 1));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d({ numFeatures: this.outChannels }));
    const se = makeSE(cfg.se, this.outChannels, rng);
    this.se = se ? this.registerModule('se', se) : null;
    this.downsample = ctx.downsample ? this.registerModule('downsample', makeDownsample(ctx, this.outChannels)) : null;
  }

  get lastBn(): BatchNorm2d {
    return this.bn3;
  }

  /**
   * Inference path (wasm, BNs on running statistics, no gradient tape): bn1 + ReLU, the cut into splits and each
   * split's move of its blocks into the batch are one heap pass; the split outputs come back to channels with
   * bn2 + ReLU and the mixer's Σ in a second; the mixer output is added to every split in a third; the mixer,
   * conv3 and shortcut convs carry their BN (and ReLU) folded in. Same math as `forward`'s general path.
   */
  private forwardInference(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const n = x.shape[0];
      const e = this.conv1.forward(x);
      const f1 = foldedBn(this.bn1);
      const parts = splitToBlocks(e, this.splitBlocks, f1.scale, f1.shift);
      const outs = parts.map((p, i) => this.conv2.convs[i]!.forwardBlocks(p));
      const f2 = foldedBn(this.bn2);
      const sumMixer = this.mixer !== null && this.mixerKind === 'sum';
      let { y, sum } = blocksToChannels(outs, n, f2.scale, f2.shift, sumMixer);
      if (this.mixer) {
        const m = convBn(this.mixer.at(0) as Conv2d, this.mixer.at(1) as BatchNorm2d, sumMixer ? sum! : y, true);
        y = addToEverySplit(y, m);
      }
      let z = convBn(this.conv3, this.bn3, y, false);
      if (this.se) z = this.se.forward(z);
      const identity = this.downsample ? downsampleForward(this.downsample, x) : x;
      return tf.relu(tf.add(z, identity) as tf.Tensor4D);
    });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (tf.getBackend() === 'wasm' && x.dtype === 'float32' && canFoldBn(this.bn1) && canFoldBn(this.bn2)) {
      return this.forwardInference(x);
    }
    return tf.tidy(() => {
      const s = this.splits;
      const ws = this.splitWidth;
      const entry = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      // wasm: the split section as one op with SIMD permutations (tied-split-convs.ts); else split / concat
      let pre = tiedSplitConvs(entry, this.conv2.convs);
      if (!pre) {
        const parts = s > 1 ? (tf.split(entry, s, 3) as tf.Tensor4D[]) : [entry];
        const outs = parts.map((p, i) => this.conv2.convs[i]!.forward(p));
        pre = s > 1 ? (tf.concat(outs, 3) as tf.Tensor4D) : outs[0]!;
      }
      let y = tf.relu(this.bn2.forward(pre));
      if (this.mixer) {
        const [n, h, w] = y.shape;
        // Σ of the splits as one reduction over [n·h·w, s, ws] (faster on wasm than split + addN).
        const input = this.mixerKind === 'sum' && s > 1 ? (tf.reshape(tf.sum(tf.reshape(y, [n * h * w, s, ws]), 1), [n, h, w, ws]) as tf.Tensor4D) : y;
        const m = tf.relu(this.mixer.forward(input));
        y = tf.reshape(tf.add(tf.reshape(y, [n, h, w, s, ws]), tf.reshape(m, [n, h, w, 1, ws])), [n, h, w, this.width]);
      }
      let z = convBn(this.conv3, this.bn3, y, false);
      if (this.se) z = this.se.forward(z);
      const identity = this.downsample ? downsampleForward(this.downsample, x) : x;
      return tf.relu(tf.add(z, identity) as tf.Tensor4D);
    });
  }

  countMacs(counter: MacCounter, prefix: string, input: FeatureShape): FeatureShape {
    const e = counter.conv(joinName(prefix, 'conv1'), this.conv1, input);
    let out: FeatureShape = e;
    this.conv2.convs.forEach((m, i) => {
      out = counter.conv(joinName(prefix, `conv2.${i}`), m, [e[0], e[1], this.splitWidth]);
    });
    const [ho, wo] = out;
    if (this.mixer) {
      const mixIn = this.mixerKind === 'sum' ? this.splitWidth : this.width;
      counter.conv(joinName(prefix, 'mixer.0'), this.mixer.at(0) as Conv2d, [ho, wo, mixIn]);
    }
    const z = counter.conv(joinName(prefix, 'conv3'), this.conv3, [ho, wo, this.width]);
    countSE(this.se, counter, prefix, z[2]);
    countDownsample(this.downsample, counter, prefix, input);
    return z;
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** TiedResNet / TiedResNeXt: the ResNet skeleton (stem, stages, head, backbone API) with TiedBottlenecks. */
export class TiedResNet extends ResNet {
  readonly tied: ResolvedTiedConfig;

  constructor(layers: readonly [number, number, number, number], tied: TiedBottleneckConfig = {}, options: BackboneOptions = {}) {
    const cfg = resolveTiedConfig(tied);
    super({ layers, expansion: cfg.expansion, block: (ctx) => new TiedBottleneck(ctx, cfg) }, options);
    this.tied = cfg;
  }
}
