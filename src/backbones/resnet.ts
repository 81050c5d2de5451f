/**
 * ResNet / ResNeXt (torchvision v1.5) as detection backbones, plus the shared skeleton the tied family uses.
 *
 * Architecture (torchvision `resnet50` & co., exactly): stem `conv1` 7×7/2 pad 3 (no bias) → `bn1` → ReLU →
 * max-pool 3×3/2 pad 1; four stages `layer1`…`layer4` of bottleneck blocks with 64·2^k "planes", expansion 4
 * (outputs 256, 512, 1024, 2048), stride 2 in the first block of stages 2–4 placed on the 3×3 conv (v1.5,
 * "pytorch" style); the first block of every stage has a projection shortcut `downsample.0` (1×1 conv, stride) +
 * `downsample.1` (BN); classifier `avgpool` (global) + `fc` (2048 → classes, with bias). Bottleneck width
 * = ⌊planes·baseWidth/64⌋·groups (ResNeXt-50 32×4d: groups 32, baseWidth 4 → 128 in stage 1), the 3×3 conv
 * grouped (`GroupedConv2d`, src/nn/grouped-conv.ts: TF.js has no grouped conv; the formulation is picked per
 * shape, see ARCHITECTURE.md).
 *
 * Parameter names and order are torchvision's state-dict keys (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv2.weight`, `layer2.0.downsample.1.num_batches_tracked`, `fc.bias` …; 320 keys for ResNet-50),
 * tensors in TF.js layout (src/io maps layouts). Init as torchvision: convs kaiming-normal fan_out/ReLU, BN
 * weight 1 / bias 0, `fc` PyTorch's Linear default; `zeroInitResidual` zeroes every block's last BN weight.
 *
 * Backbone API (mmdetection's ResNet semantics):
 *  - `forward(x)` → { c2, c3, c4, c5 } (strides 4, 8, 16, 32; channels `outChannels`);
 *  - `classify(x)` → logits (needs the head: `numClasses` > 0; null/0 builds no avgpool/fc);
 *  - `frozenStages` (−1 none, 0 stem, k: stem + layer1…layerk; default 1): those parameters get no gradients and
 *    their BNs use running statistics — kept frozen and in eval mode whatever `train()` is called with;
 *  - `normEval` (default true): every BN stays in eval mode (running statistics, not updated) even after
 *    `train()`; their γ, β still train unless frozen.
 *
 * The skeleton (`ResNet`) takes a block factory; `Bottleneck` here, `TiedBottleneck` in tied-resnet.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { TiedLinear } from '../layers/tfc.js';
import { TiedSE } from '../layers/tied-se.js';
import { BatchNorm2d } from '../nn/batchnorm2d.js';
import { checkpoint, noGrad } from '../nn/activation-checkpoint.js';
import { Conv2d } from '../nn/conv2d.js';
import { convBn } from '../nn/conv-bn.js';
import { convOutputSize, globalAvgPool, maxPool2d } from '../nn/functional.js';
import { GroupedConv2d, type GroupedConvImplChoice } from '../nn/grouped-conv.js';
import { kaimingNormalFanOutRelu, zeros, type Initializer } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { Rng } from '../nn/rng.js';
import { Sequential } from '../nn/sequential.js';
import type { Backbone, BackboneFeatures, StageChannels } from './backbone.js';
import { joinName, type CountsMacs, type FeatureShape, type MacCounter } from './complexity.js';

/** How weights start: 'random' (torchvision's init) or 'zeros' (cheap: for counting, or when loading weights next). */
export type WeightInit = 'random' | 'zeros';

/** Squeeze-and-excitation after a block's last BN (SENet): standard SE (`blocks` 1) or TiedSE (`blocks` B). */
export interface SEConfig {
  /** TFC blocks B of both FC layers; 1 = SENet's SE. */
  blocks: number;
  /** Reduction r; default 16. */
  reduction?: number;
}

/** Options every backbone preset takes. */
export interface BackboneOptions {
  /** Source of randomness; default `new Rng(seed ?? 0)`. */
  rng?: Rng;
  seed?: number | string;
  /** −1: nothing frozen; 0: stem; k ∈ 1…4: stem + layer1…layerk. Default 1 (mmdetection's detection default). */
  frozenStages?: number;
  /** BNs in eval mode (frozen statistics) even in `train()`. Default true (detection). */
  normEval?: boolean;
  /** Classifier classes; default 1000 (ImageNet, for counting parity); null or 0: no avgpool/fc. */
  numClasses?: number | null;
  /** Zero the last BN weight of every residual branch (torchvision's `zero_init_residual`); default false. */
  zeroInitResidual?: boolean;
  /** Default 'random'. */
  init?: WeightInit;
  /**
   * Activation checkpointing of the stem and every residual block while training (mmdetection's `with_cp`,
   * nn/activation-checkpoint.ts): under a gradient tape only block outputs are kept and each block's forward runs again in
   * the backward pass. Less memory (what lets full-resolution training fit the 4 GiB wasm heap), ~1 more backbone
   * forward per step. The frozen prefix (stem, layer1…layerK for `frozenStages` K) becomes a constant for the tape:
   * no backward pass through it at all, so the gradient with respect to the input image is zero. No effect on
   * inference. Default false.
   */
  withCp?: boolean;
}

/** Everything a block factory gets for one block. */
export interface BlockContext {
  /** Stage index 0…3 (layer1…layer4). */
  stage: number;
  /** Block index within the stage. */
  index: number;
  inChannels: number;
  /** 64·2^stage. */
  planes: number;
  /** 2 for the first block of stages 2–4, else 1. */
  stride: number;
  /** Whether this block needs a projection shortcut. */
  downsample: boolean;
  rng: Rng;
  /** Conv weight initialiser (kaiming normal fan_out, or zeros). */
  convInit: Initializer;
}

/** A residual block of the skeleton. */
export interface ResidualBlock extends Module, CountsMacs {
  readonly outChannels: number;
  /** The last BN of the residual branch (zeroed by `zeroInitResidual`). */
  readonly lastBn: BatchNorm2d;
  forward(x: tf.Tensor4D): tf.Tensor4D;
}

export type BlockFactory = (ctx: BlockContext) => ResidualBlock;

export interface ResNetConfig {
  /** Blocks per stage, e.g. [3, 4, 6, 3]. */
  layers: readonly [number, number, number, number];
  /** Output channels = planes · expansion; default 4. */
  expansion?: number;
  block: BlockFactory;
}

export const RESNET_STRIDES: StageChannels = [4, 8, 16, 32];

/** A conv as torchvision's `conv1x1` / `conv3x3` (no bias, padding (k−1)/2). */
export function convNoBias(
  rng: Rng,
  init: Initializer,
  inC: number,
  outC: number,
  k: number,
  stride = 1,
  groups = 1,
  impl: GroupedConvImplChoice = 'auto',
): Conv2d {
  const opts = { inChannels: inC, outChannels: outC, kernelSize: k, stride, padding: (k - 1) >> 1, groups, bias: false, rng, weightInit: init };
  return groups > 1 ? new GroupedConv2d({ ...opts, impl }) : new Conv2d(opts);
}

/** torchvision's projection shortcut: Sequential(1×1 conv with stride, BN) → keys `downsample.0.weight`, `downsample.1.*`. */
export function makeDownsample(ctx: BlockContext, outC: number): Sequential<tf.Tensor4D, tf.Tensor4D> {
  return new Sequential<tf.Tensor4D, tf.Tensor4D>([
    convNoBias(ctx.rng, ctx.convInit, ctx.inChannels, outC, 1, ctx.stride),
    new BatchNorm2d({ numFeatures: outC }),
  ]);
}

/** The projection shortcut's forward: conv + BN, folded into one conv when `convBn` can. */
export function downsampleForward(ds: Sequential<tf.Tensor4D, tf.Tensor4D>, x: tf.Tensor4D): tf.Tensor4D {
  return convBn(ds.at(0) as Conv2d, ds.at(1) as BatchNorm2d, x, false);
}

/** MACs of a projection shortcut (a no-op for none). */
export function countDownsample(
  ds: Sequential<tf.Tensor4D, tf.Tensor4D> | null,
  counter: MacCounter,
  prefix: string,
  input: FeatureShape,
): void {
  if (ds) counter.conv(joinName(prefix, 'downsample.0'), ds.at(0) as Conv2d, input);
}

/** Optional SE module after the last BN (names `se.fc.0.weight` …, TF.js [in, out] layout). */
export function makeSE(se: SEConfig | undefined, channels: number, rng: Rng): TiedSE | null {
  return se ? new TiedSE({ channels, blocks: se.blocks, reduction: se.reduction ?? 16, rng }) : null;
}

/** MACs of an SE module's two FC layers (pooling and scaling are not counted). */
export function countSE(se: TiedSE | null, counter: MacCounter, prefix: string, channels: number): void {
  if (!se) return;
  const p = joinName(prefix, 'se.fc');
  const hidden = counter.linear(`${p}.0`, se.fc.at(0) as TiedLinear, channels);
  counter.linear(`${p}.2`, se.fc.at(2) as TiedLinear, hidden);
}

export interface BottleneckOptions {
  /** Groups of the 3×3 conv (ResNeXt cardinality); default 1. */
  groups?: number;
  /** Width per group at planes = 64; default 64. Width = ⌊planes·baseWidth/64⌋·groups. */
  baseWidth?: number;
  /** Default 4. */
  expansion?: number;
  se?: SEConfig;
  /** Grouped-conv formulation of the 3×3 conv; default 'auto'. */
  groupedConvImpl?: GroupedConvImplChoice;
}

/** torchvision's `Bottleneck` (v1.5): 1×1 → 3×3 (stride, groups) → 1×1, each + BN; ReLU; optional SE; shortcut. */
export class Bottleneck extends Module implements ResidualBlock {
  readonly width: number;
  readonly outChannels: number;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly se: TiedSE | null;
  readonly downsample: Sequential<tf.Tensor4D, tf.Tensor4D> | null;

  constructor(ctx: BlockContext, opts: BottleneckOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    const baseWidth = opts.baseWidth ?? 64;
    this.width = Math.floor((ctx.planes * baseWidth) / 64) * groups;
    this.outChannels = ctx.planes * (opts.expansion ?? 4);
    const { rng, convInit: init } = ctx;
    this.conv1 = this.registerModule('conv1', convNoBias(rng, init, ctx.inChannels, this.width, 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: this.width }));
    this.conv2 = this.registerModule(
      'conv2',
      convNoBias(rng, init, this.width, this.width, 3, ctx.stride, groups, opts.groupedConvImpl ?? 'auto'),
    );
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: this.width }));
    this.conv3 = this.registerModule('conv3', convNoBias(rng, init, this.width, this.outChannels, 1));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d({ numFeatures: this.outChannels }));
    const se = makeSE(opts.se, this.outChannels, rng);
    this.se = se ? this.registerModule('se', se) : null;
    this.downsample = ctx.downsample ? this.registerModule('downsample', makeDownsample(ctx, this.outChannels)) : null;
  }

  get lastBn(): BatchNorm2d {
    return this.bn3;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = convBn(this.conv1, this.bn1, x, true);
      y = convBn(this.conv2, this.bn2, y, true);
      y = convBn(this.conv3, this.bn3, y, false);
      if (this.se) y = this.se.forward(y);
      const identity = this.downsample ? downsampleForward(this.downsample, x) : x;
      return tf.relu(tf.add(y, identity) as tf.Tensor4D);
    });
  }

  countMacs(counter: MacCounter, prefix: string, input: FeatureShape): FeatureShape {
    let s = counter.conv(joinName(prefix, 'conv1'), this.conv1, input);
    s = counter.conv(joinName(prefix, 'conv2'), this.conv2, s);
    s = counter.conv(joinName(prefix, 'conv3'), this.conv3, s);
    countSE(this.se, counter, prefix, s[2]);
    countDownsample(this.downsample, counter, prefix, input);
    return s;
  }
}

function checkFrozenStages(v: number): number {
  if (!Number.isInteger(v) || v < -1 || v > 4) throw new Error(`ResNet: frozenStages must be an integer from -1 to 4, got ${v}`);
  return v;
}

/** Resolve the rng / init options shared by all presets. */
export function resolveInit(options: BackboneOptions): { rng: Rng; convInit: Initializer } {
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  const init = options.init ?? 'random';
  if (init !== 'random' && init !== 'zeros') throw new Error(`backbone: init must be 'random' or 'zeros', got "${String(init)}"`);
  return { rng, convInit: init === 'zeros' ? zeros : kaimingNormalFanOutRelu };
}

/**
 * The ResNet skeleton: stem, four stages of `config.block`, optional classifier; the backbone API (see the file
 * comment). Keys: `conv1`, `bn1`, `layer1`…`layer4` (`layerK.i.*`), `fc`.
 */
export class ResNet extends Module implements Backbone, CountsMacs {
  readonly outChannels: StageChannels;
  readonly strides: StageChannels = RESNET_STRIDES;
  readonly frozenStages: number;
  readonly normEval: boolean;
  /** Activation checkpointing of the stem and blocks while training (`BackboneOptions.withCp`). */
  readonly withCp: boolean;
  readonly numClasses: number;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: readonly Sequential<tf.Tensor4D, tf.Tensor4D>[];
  readonly fc: Linear | null;

  constructor(config: ResNetConfig, options: BackboneOptions = {}) {
    super();
    const { rng, convInit } = resolveInit(options);
    this.frozenStages = checkFrozenStages(options.frozenStages ?? 1);
    this.normEval = options.normEval ?? true;
    this.withCp = options.withCp ?? false;
    const classes = options.numClasses === undefined ? 1000 : (options.numClasses ?? 0);
    if (!Number.isInteger(classes) || classes < 0) throw new Error(`ResNet: numClasses must be a non-negative integer or null, got ${classes}`);
    this.numClasses = classes;
    const expansion = config.expansion ?? 4;
    if (config.layers.length !== 4 || !config.layers.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new Error(`ResNet: layers must be four positive integers, got [${config.layers.join(', ')}]`);
    }

    // Built inside try: if a block rejects its configuration, what was allocated so far is freed.
    const pending: Module[] = [];
    try {
      this.conv1 = this.registerModule('conv1', convNoBias(rng, convInit, 3, 64, 7, 2));
      this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 64 }));
      let inChannels = 64;
      const stages: Sequential<tf.Tensor4D, tf.Tensor4D>[] = [];
      const out: number[] = [];
      config.layers.forEach((count, stage) => {
        const planes = 64 * 2 ** stage;
        const blocks: ResidualBlock[] = [];
        for (let index = 0; index < count; index++) {
          const stride = index === 0 && stage > 0 ? 2 : 1;
          const block = config.block({
            stage,
            index,
            inChannels,
            planes,
            stride,
            downsample: index === 0 && (stride !== 1 || inChannels !== planes * expansion),
            rng,
            convInit,
          });
          if (options.zeroInitResidual) tf.tidy(() => block.lastBn.weight.assign(tf.zerosLike(block.lastBn.weight)));
          pending.push(block);
          inChannels = block.outChannels;
          blocks.push(block);
        }
        stages.push(this.registerModule(`layer${stage + 1}`, new Sequential<tf.Tensor4D, tf.Tensor4D>(blocks)));
        pending.length = 0;
        out.push(inChannels);
      });
      this.stages = stages;
      this.outChannels = out as unknown as StageChannels;
      this.fc =
        classes > 0
          ? this.registerModule(
              'fc',
              new Linear({
                inFeatures: inChannels,
                outFeatures: classes,
                rng,
                ...(options.init === 'zeros' ? { weightInit: zeros, biasInit: zeros } : {}),
              }),
            )
          : null;
    } catch (e) {
      for (const m of pending) m.dispose();
      this.dispose();
      throw e;
    }
    this.train(true);
  }

  /** The modules of stage k as mmdetection counts them: 0 = stem (conv1, bn1), k = layerk. */
  private stageModules(k: number): Module[] {
    return k === 0 ? [this.conv1, this.bn1] : [this.stages[k - 1]!];
  }

  /**
   * Training mode with the backbone rules: frozen stages stay frozen and in eval mode; with `normEval` every BN
   * stays in eval mode.
   */
  override train(mode = true): this {
    super.train(mode);
    for (let k = 0; k <= this.frozenStages; k++) {
      for (const m of this.stageModules(k)) {
        if (!m.frozen) m.freeze();
        m.eval();
      }
    }
    if (mode && this.normEval) {
      for (const [, m] of this.namedModules()) if (m instanceof BatchNorm2d) m.eval();
    }
    return this;
  }

  /** Stem: conv1 → bn1 → ReLU → max-pool 3×3/2. */
  private stem(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => maxPool2d(convBn(this.conv1, this.bn1, x, true), { kernelSize: 3, stride: 2, padding: 1 }));
  }

  /** [n, h, w, 3] → C2–C5. */
  forward(x: tf.Tensor4D): BackboneFeatures {
    this.assertAlive('forward');
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`ResNet: expected an [n, h, w, 3] input, got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      // With withCp, the frozen prefix (stem, layer1…layerK for frozenStages K) is a constant for the tape: the
      // image needs no gradient, so its backward pass would serve nothing (mmdetection's requires_grad=False).
      const stem = (t: tf.Tensor4D) => this.stem(t);
      const c1 = !this.withCp ? stem(x) : this.frozenStages >= 0 ? noGrad(stem, x) : this.cp(stem, x, [this.conv1, this.bn1]);
      const c2 = this.runStage(0, c1);
      const c3 = this.runStage(1, c2);
      const c4 = this.runStage(2, c3);
      const c5 = this.runStage(3, c4);
      return { c2, c3, c4, c5 };
    });
  }

  /** Stage k's blocks in order, each checkpointed when `withCp` (and a tape is recording); frozen stages constant. */
  private runStage(k: number, x: tf.Tensor4D): tf.Tensor4D {
    const stage = this.stages[k]!;
    if (!this.withCp) return stage.forward(x);
    if (k < this.frozenStages) return noGrad((t) => stage.forward(t), x);
    let y = x;
    for (let i = 0; i < stage.length; i++) {
      const block = stage.at(i) as unknown as Module & { forward(t: tf.Tensor4D): tf.Tensor4D };
      y = this.cp((t) => block.forward(t), y, [block]);
    }
    return y;
  }

  /** `run(x)`, checkpointed over the trainable parameters of `owners` when `withCp`. */
  private cp(run: (t: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, owners: readonly Module[]): tf.Tensor4D {
    if (!this.withCp) return run(x);
    return checkpoint(run, x, owners.flatMap((m) => m.trainableVariables()));
  }

  /** [n, h, w, 3] → logits [n, numClasses] (global average pool of C5, then `fc`). */
  classify(x: tf.Tensor4D): tf.Tensor2D {
    const fc = this.fc;
    if (!fc) throw new Error('ResNet.classify: this backbone was built without a classifier (numClasses null/0)');
    return tf.tidy(() => fc.forward(globalAvgPool(this.forward(x).c5)));
  }

  countMacs(counter: MacCounter, prefix: string, input: FeatureShape): FeatureShape {
    let s = counter.conv(joinName(prefix, 'conv1'), this.conv1, input);
    s = [convOutputSize(s[0], 3, 2, 1), convOutputSize(s[1], 3, 2, 1), s[2]]; // max-pool
    this.stages.forEach((stage, k) => {
      for (let i = 0; i < stage.length; i++) {
        s = (stage.at(i) as unknown as ResidualBlock).countMacs(counter, joinName(prefix, `layer${k + 1}.${i}`), s);
      }
    });
    if (this.fc) return [1, 1, counter.linear(joinName(prefix, 'fc'), this.fc, s[2])];
    return s;
  }
}

/** ResNet / ResNeXt / SE-ResNet built from `Bottleneck` (what the presets call). */
export interface BottleneckResNetConfig extends BottleneckOptions {
  layers: readonly [number, number, number, number];
}

export function bottleneckResNet(config: BottleneckResNetConfig, options: BackboneOptions = {}): ResNet {
  const { layers, ...blockOpts } = config;
  return new ResNet({ layers, expansion: blockOpts.expansion ?? 4, block: (ctx) => new Bottleneck(ctx, blockOpts) }, options);
}
