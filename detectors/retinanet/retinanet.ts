/**
 * RetinaNet (Lin et al., "Focal Loss for Dense Object Detection", 2017) = backbone + FPN (P3–P7) + `RetinaHead`,
 * as mmdetection's `RetinaNet` (a `SingleStageDetector`) with the hyper-parameters of `RetinaNetConfig`.
 *
 * - Names: `backbone.*`, `neck.*` (mmdetection's FPN), `bbox_head.*` (mmdetection's RetinaHead) — mmdetection's
 *   checkpoint keys, in TF.js layout.
 * - `loss(batch)` → { loss_cls, loss_bbox }: anchors for the head's feature sizes (cached per shape), targets
 *   (targets.ts: MaxIoUAssigner, PseudoSampler), sigmoid focal loss over all non-ignored anchors × classes and L1
 *   (or smooth L1) on the positives' deltas, both Σ / avg_factor with avg_factor = Σ_i max(#pos_i, 1), times the
 *   loss weights. Synchronous (it runs inside `tf.variableGrads`); target computation reads only typed arrays.
 * - `predict(batch)` → one `Detection` per image (postprocess.ts: score threshold, per-level top-k, decode, rescale
 *   and un-flip to the original image, per-class NMS, max per image). The pieces are public for benchmarks:
 *   `backbone.forward`, `neck.forward`, `bbox_head.forward`, `postProcess(headOutput, metas)`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../../src/backbones/backbone.js';
import { FPN } from '../../src/necks/fpn.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { AnchorGenerator, type FeatureSize } from '../../src/ops/anchors.js';
import { l1Loss, labelsToOneHot, sigmoidFocalLoss, smoothL1Loss } from '../../src/ops/losses.js';
import { rowLoss } from '../../src/ops/row-loss.js';
import type { ImageMeta } from '../../data/meta.js';
import type { DeepPartial } from '../config-merge.js';
import { featureSizes, flattenLevels, imageLevelOutputs } from '../dense-head.js';
import type { Detection, DetectionBatch, Detector, TestSettings } from '../detector.js';
import { checkBatch } from '../input-checks.js';
import { readAll } from '../../src/engine/async-read.js';
import { retinaNetConfig, type RetinaNetConfig } from './config.js';
import { RetinaHead, type RetinaHeadOutput } from './head.js';
import { postProcessImage, type PostProcessOptions } from './postprocess.js';
import { anchorTargets, type AnchorTargets } from './targets.js';

export interface RetinaNetOptions {
  /** The backbone (C2–C5), e.g. `resnet50({ numClasses: null })` or `tiedResNet50({ numClasses: null })`. */
  backbone: Backbone;
  /** Hyper-parameters: a full config, or overrides of mmdetection's defaults. */
  config?: RetinaNetConfig | DeepPartial<RetinaNetConfig>;
  /** The experiment's test settings (score threshold, NMS IoU, detections per image), applied over `config.test`. */
  test?: TestSettings;
  /** Seeds the neck and head init (the backbone has its own). */
  rng?: Rng;
  seed?: number | string;
}

export class RetinaNet extends Module implements Detector {
  readonly config: RetinaNetConfig;
  readonly numClasses: number;
  readonly backbone: Backbone;
  readonly neck: FPN;
  readonly bboxHead: RetinaHead;
  readonly anchorGenerator: AnchorGenerator;

  constructor(opts: RetinaNetOptions) {
    super();
    // The detector owns the backbone from here on: `dispose()` frees it, and so does a constructor that throws.
    this.backbone = this.registerModule('backbone', opts.backbone);
    try {
      const cfg = retinaNetConfig(
        (opts.config ?? {}) as DeepPartial<RetinaNetConfig>,
        opts.test ? { test: { scoreThr: opts.test.scoreThr, nmsIouThr: opts.test.nmsIouThr, maxPerImg: opts.test.maxPerImg } } : {},
      );
      this.config = cfg;
      this.numClasses = cfg.numClasses;
      const m = cfg.model;
      const rng = opts.rng ?? new Rng(opts.seed ?? 0);
      this.anchorGenerator = new AnchorGenerator(m.anchors);
      this.neck = this.registerModule(
        'neck',
        new FPN({ inChannels: opts.backbone.outChannels, inStrides: opts.backbone.strides, ...m.neck, rng }),
      );
      const strides = this.anchorGenerator.strides.map(([w, h]) => (w === h ? w : NaN));
      if (strides.length !== this.neck.numOuts || strides.some((s, i) => s !== this.neck.strides[i])) {
        throw new Error(
          `RetinaNet: anchor strides [${m.anchors.strides.join(', ')}] do not match the FPN levels' strides [${this.neck.strides.join(', ')}]`,
        );
      }
      const numAnchors = this.anchorGenerator.numBaseAnchors;
      if (numAnchors.some((a) => a !== numAnchors[0])) throw new Error('RetinaNet: every level needs the same number of anchors');
      this.bboxHead = this.registerModule(
        'bbox_head',
        new RetinaHead({ numClasses: cfg.numClasses, inChannels: m.neck.outChannels, numAnchors: numAnchors[0]!, ...m.head, rng }),
      );
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** backbone → neck → head on a [n, H, W, 3] batch. */
  forward(images: tf.Tensor4D): RetinaHeadOutput {
    this.assertAlive('forward');
    return tf.tidy(() => {
      const levels = this.neck.forward(this.backbone.forward(images));
      const out = this.bboxHead.forward(levels);
      return out;
    });
  }

  /** The training targets of a batch for these head feature sizes (typed arrays; no tensors). */
  targets(featSizes: readonly FeatureSize[], metas: readonly ImageMeta[], batch: DetectionBatch): AnchorTargets {
    if (!batch.targets) throw new Error('RetinaNet.loss: the batch has no targets');
    const cfg = this.config;
    return anchorTargets(this.anchorGenerator, featSizes, metas, batch.targets, this.numClasses, {
      assigner: cfg.train.assigner,
      coder: { means: cfg.model.coder.means, stds: cfg.model.coder.stds },
      allowedBorder: cfg.train.allowedBorder,
      padSizeDivisor: cfg.train.padSizeDivisor,
    });
  }

  loss(batch: DetectionBatch): Record<string, tf.Scalar> {
    checkBatch('RetinaNet', batch);
    const cfg = this.config;
    const C = this.numClasses;
    return tf.tidy(() => {
      const out = this.forward(batch.images);
      const t = this.targets(featureSizes(out.cls), batch.metas, batch);
      const n = batch.images.shape[0];
      const cls = tf.reshape(flattenLevels(out.cls, C), [n * t.numAnchors, C]);
      const reg = tf.reshape(flattenLevels(out.reg, 4), [n * t.numAnchors, 4]) as tf.Tensor2D;
      const focal = sigmoidFocalLoss(cls, labelsToOneHot(t.labels, C), {
        weight: tf.tensor1d(t.labelWeights),
        alpha: cfg.model.loss.focal.alpha,
        gamma: cfg.model.loss.focal.gamma,
        reduction: 'mean',
        avgFactor: t.avgFactor,
      });
      const o = { reduction: 'mean' as const, avgFactor: t.avgFactor };
      const bbox = rowLoss(reg, t.posIndices, t.bboxTargets, (p, y) =>
        cfg.model.loss.bbox.type === 'l1' ? l1Loss(p, y, o) : smoothL1Loss(p, y, { ...o, beta: cfg.model.loss.bbox.beta }),
      );
      return {
        loss_cls: tf.mul(focal, cfg.model.loss.focal.weight) as tf.Scalar,
        loss_bbox: tf.mul(bbox, cfg.model.loss.bbox.weight) as tf.Scalar,
      };
    });
  }

  /** Per-image detections from head outputs (downloads them; does not dispose them). */
  postProcess(out: RetinaHeadOutput, metas: readonly ImageMeta[]): Detection[] {
    const C = this.numClasses;
    const anchors = this.anchorGenerator.gridAnchors(featureSizes(out.cls)).levels;
    const n = out.cls[0]!.shape[0];
    if (metas.length !== n) throw new Error(`RetinaNet.predict: ${n} images but ${metas.length} metas`);
    const levels = imageLevelOutputs(out, anchors, C);
    const cfg = this.config;
    const opts: PostProcessOptions = {
      numClasses: C,
      ...cfg.test,
      coder: { means: cfg.model.coder.means, stds: cfg.model.coder.stds, whRatioClip: cfg.model.coder.whRatioClip },
    };
    return metas.map((meta, i) => postProcessImage(levels[i]!, meta, opts));
  }

  predict(batch: DetectionBatch): Detection[] {
    checkBatch('RetinaNet', batch);
    const out = tf.tidy(() => this.forward(batch.images));
    try {
      return this.postProcess(out, batch.metas);
    } finally {
      tf.dispose([...out.cls, ...out.reg]);
    }
  }

  /** `predict` with one asynchronous read of the head outputs (every backend; the webgpu path). */
  async predictAsync(batch: DetectionBatch): Promise<Detection[]> {
    checkBatch('RetinaNet', batch);
    const out = tf.tidy(() => this.forward(batch.images));
    try {
      await readAll([...out.cls, ...out.reg]); // cached on the CPU: postProcess's reads stay off the GPU
      return this.postProcess(out, batch.metas);
    } finally {
      tf.dispose([...out.cls, ...out.reg]);
    }
  }
}
