/**
 * Feature Pyramid Network (Lin et al. 2017) with mmdetection's `FPN` semantics (mmdet/models/necks/fpn.py):
 *
 *   lateral_i = conv1×1(C_i)                                   for the used backbone levels (start_level…)
 *   lateral_{i−1} += nearest_upsample(lateral_i, size of lateral_{i−1})      top-down, coarsest first
 *   P_i = conv3×3(lateral_i)
 *   extra levels (num_outs > used levels):
 *     addExtraConvs 'on_input':  P6 = conv3×3/s2(C5), P7 = conv3×3/s2([ReLU](P6))   (RetinaNet: P3–P7)
 *     addExtraConvs 'on_output': P6 = conv3×3/s2(P5), P7 = conv3×3/s2([ReLU](P6))   (FCOS-style)
 *     addExtraConvs false:       P6 = max_pool(P5, kernel 1, stride 2) = P5[::2, ::2]     (Mask R-CNN: P2–P6)
 *
 * - **Upsampling** is PyTorch's `F.interpolate(x, size=lateral.shape, mode='nearest')` exactly (mmdet passes the
 *   size, so odd sizes work): source index ⌊dst·(in/out)⌋ with a float32 scale, clamped; an exact ×2 is dst >> 1.
 *   For the FPN's sizes (out = 2·in or 2·in − 1) TF.js's resizeNearestNeighbor computes exactly that; other sizes
 *   gather the rows and columns. Both are differentiable.
 * - **No activations** inside the FPN (mmdet's act_cfg=None); ReLU before the second extra conv only with
 *   `reluBeforeExtraConvs` — mmdetection's RetinaNet config leaves it off (default false here), torchvision's
 *   `LastLevelP6P7` and detectron2 apply it.
 * - **Names** are mmdetection's (configs and checkpoints follow mmdetection): `lateral_convs.{i}.conv.weight|bias`,
 *   `fpn_convs.{i}.conv.weight|bias`, the extra convs continuing `fpn_convs` (RetinaNet: `fpn_convs.3` on C5,
 *   `fpn_convs.4`). torchvision's `inner_blocks.{i}.0` / `layer_blocks.{i}.0` / `extra_blocks.p6|p7` map 1:1
 *   (see tools/fixtures/fpn.py).
 * - **Init** as mmdetection: every conv xavier-uniform (gain 1), bias 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackboneFeatures } from '../backbones/backbone.js';
import { Module } from '../nn/module.js';
import { Rng } from '../nn/rng.js';
import { ConvModule } from '../nn/conv-module.js';
import { ModuleList } from '../nn/module-list.js';

export type ExtraConvs = 'on_input' | 'on_output' | false;

export interface FpnOptions {
  /** Channels of every backbone level (C2–C5: [256, 512, 1024, 2048] for ResNet-50). */
  inChannels: readonly number[];
  /** Channels of every output level; default 256. */
  outChannels?: number;
  /** First backbone level used (0 = C2); default 0. */
  startLevel?: number;
  /** Number of output levels; default 5. */
  numOuts?: number;
  /** How levels beyond the backbone's are made; default false (max-pool). */
  addExtraConvs?: ExtraConvs;
  /** ReLU before every extra conv after the first; default false (mmdetection). */
  reluBeforeExtraConvs?: boolean;
  /** Strides of the backbone levels; default [4, 8, 16, 32]. */
  inStrides?: readonly number[];
  rng?: Rng;
  seed?: number | string;
}

/** The two pyramids the detectors use. */
export type FpnLevels = 'P3-P7' | 'P2-P6';

/** FPN options of a named pyramid: 'P3-P7' = RetinaNet's (C3–C5, extra convs on C5), 'P2-P6' = Mask R-CNN's. */
export function fpnLevels(levels: FpnLevels): Pick<FpnOptions, 'startLevel' | 'numOuts' | 'addExtraConvs'> {
  switch (levels) {
    case 'P3-P7':
      return { startLevel: 1, numOuts: 5, addExtraConvs: 'on_input' };
    case 'P2-P6':
      return { startLevel: 0, numOuts: 5, addExtraConvs: false };
  }
}

/** Build an FPN from a named pyramid (`levels`) plus any other option (explicit options win). */
export function fpn(options: FpnOptions & { levels?: FpnLevels }): FPN {
  const { levels, ...rest } = options;
  return new FPN({ ...(levels ? fpnLevels(levels) : {}), ...rest });
}

/**
 * PyTorch's nearest source indices for resizing `inSize` → `outSize` (`nearest_idx` of ATen's upsample kernels):
 * identity, `i >> 1` for an exact ×2, else ⌊i·s⌋ with s = float32(in/out), clamped to in − 1.
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  if (outSize === inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i;
  } else if (outSize === 2 * inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i >> 1;
  } else {
    const scale = Math.fround(inSize / outSize);
    for (let i = 0; i < outSize; i++) idx[i] = Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  }
  return idx;
}

/**
 * True when TF.js's `resizeNearestNeighbor` (align_corners false, half-pixel centres false: ⌊dst·in/out⌋) picks the
 * same rows as PyTorch along an axis: same size, or out = 2·in or 2·in − 1 (the FPN cases — a stride-2 conv maps
 * n to ⌈n/2⌉), where both reduce to dst >> 1 with no rounding at stake.
 */
function resizeMatchesTorch(inSize: number, outSize: number): boolean {
  return outSize === inSize || outSize === 2 * inSize || outSize === 2 * inSize - 1;
}

/**
 * `F.interpolate(x, size=[h, w], mode='nearest')` on NHWC (see `nearestIndices`); differentiable. The FPN sizes
 * run through `tf.image.resizeNearestNeighbor` (a wasm kernel with a gradient kernel, ~10× faster than a gather);
 * any other size through a gather of `nearestIndices`.
 */
export function upsampleNearest(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.tidy(() => {
    if (size[0] === h && size[1] === w) return tf.clone(x);
    if (resizeMatchesTorch(h, size[0]) && resizeMatchesTorch(w, size[1])) {
      return tf.image.resizeNearestNeighbor(x, [size[0], size[1]], false, false);
    }
    let y = x;
    if (size[0] !== h) y = tf.gather(y, tf.tensor1d(nearestIndices(h, size[0]), 'int32'), 1);
    if (size[1] !== w) y = tf.gather(y, tf.tensor1d(nearestIndices(w, size[1]), 'int32'), 2);
    return y;
  });
}

/**
 * `F.max_pool2d(x, 1, stride=2)`: every second row and column starting at 0 (output ⌈h/2⌉ × ⌈w/2⌉). A gather
 * (TF.js has no StridedSlice gradient; the max-pool gradient of wasm needed a project kernel).
 */
export function subsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const even = (n: number) => tf.tensor1d(Int32Array.from({ length: Math.ceil(n / 2) }, (_, i) => 2 * i), 'int32');
  return tf.tidy(() => tf.gather(tf.gather(x, even(h), 1), even(w), 2));
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`FPN: ${what} must be a positive integer, got ${v}`);
  return v;
}

export class FPN extends Module {
  readonly inChannels: readonly number[];
  readonly outChannels: number;
  readonly startLevel: number;
  readonly numOuts: number;
  readonly addExtraConvs: ExtraConvs;
  readonly reluBeforeExtraConvs: boolean;
  /** Stride of every output level (RetinaNet: [8, 16, 32, 64, 128]). */
  readonly strides: readonly number[];
  readonly lateralConvs: readonly ConvModule[];
  /** The 3×3 output convs, then the extra convs (`fpn_convs.{k}`). */
  readonly fpnConvs: readonly ConvModule[];

  constructor(opts: FpnOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    this.inChannels = [...opts.inChannels];
    if (this.inChannels.length === 0) throw new Error('FPN: inChannels must list at least one backbone level');
    this.inChannels.forEach((c, i) => positiveInt(c, `inChannels[${i}]`));
    this.outChannels = positiveInt(opts.outChannels ?? 256, 'outChannels');
    this.startLevel = opts.startLevel ?? 0;
    if (!Number.isInteger(this.startLevel) || this.startLevel < 0 || this.startLevel >= this.inChannels.length) {
      throw new Error(`FPN: startLevel must be an integer in [0, ${this.inChannels.length - 1}], got ${this.startLevel}`);
    }
    const used = this.inChannels.length - this.startLevel;
    this.numOuts = positiveInt(opts.numOuts ?? 5, 'numOuts');
    if (this.numOuts < used) throw new Error(`FPN: numOuts (${this.numOuts}) must be at least the ${used} used backbone levels`);
    this.addExtraConvs = opts.addExtraConvs ?? false;
    if (![false, 'on_input', 'on_output'].includes(this.addExtraConvs)) {
      throw new Error(`FPN: addExtraConvs must be 'on_input', 'on_output' or false, got ${JSON.stringify(this.addExtraConvs)}`);
    }
    this.reluBeforeExtraConvs = opts.reluBeforeExtraConvs ?? false;
    const inStrides = opts.inStrides ?? [4, 8, 16, 32];
    if (inStrides.length !== this.inChannels.length) {
      throw new Error(`FPN: inStrides has ${inStrides.length} entries, inChannels ${this.inChannels.length}`);
    }
    const strides = inStrides.slice(this.startLevel);
    while (strides.length < this.numOuts) strides.push(strides[strides.length - 1]! * 2);
    this.strides = strides;

    const out = this.outChannels;
    const laterals: ConvModule[] = [];
    const fpnConvs: ConvModule[] = [];
    for (let i = this.startLevel; i < this.inChannels.length; i++) {
      laterals.push(new ConvModule({ inChannels: this.inChannels[i]!, outChannels: out, kernelSize: 1, rng }));
      fpnConvs.push(new ConvModule({ inChannels: out, outChannels: out, kernelSize: 3, rng }));
    }
    if (this.addExtraConvs) {
      for (let k = used; k < this.numOuts; k++) {
        const inC = k === used && this.addExtraConvs === 'on_input' ? this.inChannels[this.inChannels.length - 1]! : out;
        fpnConvs.push(new ConvModule({ inChannels: inC, outChannels: out, kernelSize: 3, stride: 2, padding: 1, rng }));
      }
    }
    // mmdetection's ModuleList names: lateral_convs.{i}, fpn_convs.{k}
    this.lateralConvs = this.registerModule('lateral_convs', new ModuleList(laterals)).toArray();
    this.fpnConvs = this.registerModule('fpn_convs', new ModuleList(fpnConvs)).toArray();
  }

  /** Output levels, finest first. `feats` are the backbone levels (C2–C5) or the object the backbone returns. */
  forward(feats: BackboneFeatures | readonly tf.Tensor4D[]): tf.Tensor4D[] {
    this.assertAlive('forward');
    const inputs = Array.isArray(feats) ? (feats as readonly tf.Tensor4D[]) : backboneLevels(feats as BackboneFeatures);
    if (inputs.length !== this.inChannels.length) {
      throw new Error(`FPN: expected ${this.inChannels.length} input levels, got ${inputs.length}`);
    }
    inputs.forEach((x, i) => {
      if (x.rank !== 4 || x.shape[3] !== this.inChannels[i]) {
        throw new Error(`FPN: input level ${i} must be [n, h, w, ${this.inChannels[i]}], got [${x.shape.join(', ')}]`);
      }
    });
    return tf.tidy(() => {
      const laterals = this.lateralConvs.map((conv, i) => conv.forward(inputs[i + this.startLevel]!));
      for (let i = laterals.length - 1; i > 0; i--) {
        const target = laterals[i - 1]!;
        laterals[i - 1] = tf.add(target, upsampleNearest(laterals[i]!, [target.shape[1], target.shape[2]]));
      }
      const outs = laterals.map((l, i) => this.fpnConvs[i]!.forward(l));
      const used = laterals.length;
      if (this.numOuts > used) {
        if (!this.addExtraConvs) {
          for (let k = used; k < this.numOuts; k++) outs.push(subsample2(outs[outs.length - 1]!));
        } else {
          const source = this.addExtraConvs === 'on_input' ? inputs[inputs.length - 1]! : outs[used - 1]!;
          outs.push(this.fpnConvs[used]!.forward(source));
          for (let k = used + 1; k < this.numOuts; k++) {
            const prev = outs[outs.length - 1]!;
            outs.push(this.fpnConvs[k]!.forward(this.reluBeforeExtraConvs ? tf.relu(prev) : prev));
          }
        }
      }
      return outs;
    });
  }
}

/** [c2, c3, c4, c5] of a backbone's output. */
export function backboneLevels(f: BackboneFeatures): tf.Tensor4D[] {
  return [f.c2, f.c3, f.c4, f.c5];
}
