/**
 * Cascade R-CNN (Cai & Vasconcelos 2018) and Cascade Mask R-CNN = backbone + FPN (P2–P6) + RPN + a cascade RoI head
 * of `numStages` box stages (and mask heads), as mmdetection's `CascadeRCNN` (a `TwoStageDetector`) with the
 * hyper-parameters of `CascadeRcnnConfig` (config.ts). The backbone, FPN, RPN, RPN targets and proposals are Mask
 * R-CNN's parts (../mask-rcnn/); the cascade is cascade-roi-head.ts.
 *
 * - Names are mmdetection's checkpoint keys (TF.js layout): `backbone.*`, `neck.*`, `rpn_head.*`,
 *   `roi_head.bbox_head.{i}.shared_fcs.{0,1}.*`, `roi_head.bbox_head.{i}.fc_cls|fc_reg.*`,
 *   `roi_head.mask_head.{i}.convs.{j}.conv.*`, `roi_head.mask_head.{i}.upsample.*`, `roi_head.mask_head.{i}.conv_logits.*`.
 * - `loss(batch)` → { loss_rpn_cls, loss_rpn_bbox, s{i}.loss_cls, s{i}.loss_bbox, s{i}.acc, s{i}.loss_mask }
 *   (mmdetection's keys; the RPN's box loss is SmoothL1 β = 1/9 as in mmdetection's cascade configs).
 * - `predict(batch, { maskThr })` → one `Detection` per image in ORIGINAL image pixels (masks only with
 *   `model.withMask`). Uses the test configs regardless of train/eval mode.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../../src/backbones/backbone.js';
import { FPN } from '../../src/necks/fpn.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { AnchorGenerator } from '../../src/ops/anchors.js';
import type { ImageMeta } from '../../data/meta.js';
import type { DeepPartial } from '../config-merge.js';
import { featureSizes, imageLevelOutputs } from '../dense-head.js';
import type { Detection, Detector, TestSettings } from '../detector.js';
import { checkBatch } from '../input-checks.js';
import type { ProposalConfig } from '../mask-rcnn/config.js';
import { imageProposals, type Proposals } from '../mask-rcnn/proposals.js';
import { RPNHead, rpnLoss, type RpnHeadOutput } from '../mask-rcnn/rpn-head.js';
import { rpnTargets } from '../mask-rcnn/rpn-targets.js';
import type { MaskRcnnBatch } from '../mask-rcnn/targets.js';
import { CascadeRoIHead } from './cascade-roi-head.js';
import { cascadeRcnnConfig, type CascadeRcnnConfig } from './config.js';

export interface CascadeRcnnOptions {
  /** The backbone (C2–C5), e.g. `resnet50({ numClasses: null })` or `tiedResNet50({ numClasses: null })`. */
  backbone: Backbone;
  /** Hyper-parameters: a full config, or overrides of mmdetection's defaults (Cascade Mask R-CNN). */
  config?: CascadeRcnnConfig | DeepPartial<CascadeRcnnConfig>;
  /** The experiment's test settings, applied over `config.test.rcnn`. */
  test?: TestSettings;
  /** Seeds the neck and head init (the backbone has its own) and then the RPN / RoI sampling. */
  rng?: Rng;
  seed?: number | string;
}

export interface CascadeRcnnPredictOptions {
  /** Mask binarisation threshold (default: config.test.rcnn.maskThr, 0.5). */
  maskThr?: number;
}

export class CascadeRCNN extends Module implements Detector<MaskRcnnBatch> {
  readonly config: CascadeRcnnConfig;
  readonly numClasses: number;
  readonly backbone: Backbone;
  readonly neck: FPN;
  readonly rpnHead: RPNHead;
  readonly roiHead: CascadeRoIHead;
  readonly anchorGenerator: AnchorGenerator;
  /** Draws the RPN anchor and RoI samples of `loss`. */
  readonly samplingRng: Rng;

  constructor(opts: CascadeRcnnOptions) {
    super();
    const cfg = cascadeRcnnConfig(
      (opts.config ?? {}) as DeepPartial<CascadeRcnnConfig>,
      opts.test ? { test: { rcnn: { scoreThr: opts.test.scoreThr, nmsIouThr: opts.test.nmsIouThr, maxPerImg: opts.test.maxPerImg } } } : {},
    );
    this.config = cfg;
    this.numClasses = cfg.numClasses;
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    const m = cfg.model;
    this.anchorGenerator = new AnchorGenerator(m.rpnHead.anchors);
    this.backbone = this.registerModule('backbone', opts.backbone);
    this.neck = this.registerModule(
      'neck',
      new FPN({
        inChannels: opts.backbone.outChannels,
        inStrides: opts.backbone.strides,
        outChannels: m.neck.outChannels,
        startLevel: 0,
        numOuts: m.rpnHead.anchors.strides.length,
        addExtraConvs: false,
        rng,
      }),
    );
    const strides = this.anchorGenerator.strides.map(([w, h]) => (w === h ? w : NaN));
    if (strides.some((s, i) => s !== this.neck.strides[i])) {
      throw new Error(`CascadeRCNN: anchor strides [${strides.join(', ')}] do not match the FPN levels' strides [${this.neck.strides.join(', ')}]`);
    }
    for (const [name, s] of [['bboxHead', m.bboxHead.roiExtractor.featmapStrides], ['maskHead', m.maskHead.roiExtractor.featmapStrides]] as const) {
      if (s.some((v, i) => v !== this.neck.strides[i])) {
        throw new Error(`CascadeRCNN: model.${name}.roiExtractor.featmapStrides [${s.join(', ')}] do not match the FPN strides [${this.neck.strides.join(', ')}]`);
      }
    }
    const numAnchors = this.anchorGenerator.numBaseAnchors;
    if (numAnchors.some((a) => a !== numAnchors[0])) throw new Error('CascadeRCNN: every RPN level needs the same number of anchors');
    this.rpnHead = this.registerModule(
      'rpn_head',
      new RPNHead({ inChannels: m.neck.outChannels, featChannels: m.rpnHead.featChannels, numAnchors: numAnchors[0]!, rng }),
    );
    this.roiHead = this.registerModule('roi_head', new CascadeRoIHead({ numClasses: cfg.numClasses, inChannels: m.neck.outChannels, model: m, rng }));
    this.samplingRng = new Rng(rng.int(0x7fffffff));
  }

  /** backbone → neck: P2–P6 of a [n, H, W, 3] batch. */
  features(images: tf.Tensor4D): tf.Tensor4D[] {
    this.assertAlive('features');
    return tf.tidy(() => this.neck.forward(this.backbone.forward(images)));
  }

  /** Proposals of every image from RPN outputs (downloads them; does not dispose them). */
  proposals(out: RpnHeadOutput, metas: readonly ImageMeta[], cfg: ProposalConfig): Proposals[] {
    const anchors = this.anchorGenerator.gridAnchors(featureSizes(out.cls)).levels;
    const n = out.cls[0]!.shape[0];
    if (metas.length !== n) throw new Error(`CascadeRCNN: ${n} images but ${metas.length} metas`);
    const levels = imageLevelOutputs(out, anchors, 1);
    const c = this.config.model.rpnHead.coder;
    const coder = { means: c.means, stds: c.stds, whRatioClip: c.whRatioClip };
    return metas.map((meta, i) => imageProposals(levels[i]!, meta, cfg, coder));
  }

  loss(batch: MaskRcnnBatch): Record<string, tf.Scalar> {
    checkCascadeBatch(batch);
    if (!batch.targets) throw new Error('CascadeRCNN.loss: the batch has no targets');
    const targets = batch.targets;
    const cfg = this.config;
    return tf.tidy(() => {
      const levels = this.features(batch.images);
      const out = this.rpnHead.forward(levels);
      const t = rpnTargets(
        this.anchorGenerator,
        featureSizes(out.cls),
        batch.metas,
        targets,
        {
          assigner: cfg.train.rpn.assigner,
          sampler: cfg.train.rpn.sampler,
          coder: { means: cfg.model.rpnHead.coder.means, stds: cfg.model.rpnHead.coder.stds },
          allowedBorder: cfg.train.rpn.allowedBorder,
          padSizeDivisor: cfg.train.padSizeDivisor,
        },
        this.samplingRng,
      );
      const rpn = rpnLoss(out, t, cfg.model.rpnHead.loss);
      const proposals = this.proposals(out, batch.metas, cfg.train.rpnProposal).map((p) => p.boxes);
      const roi = this.roiHead.loss(levels, proposals, batch.metas, targets, cfg.train.rcnn, this.samplingRng);
      return { ...rpn, ...roi };
    });
  }

  predict(batch: MaskRcnnBatch, opts: CascadeRcnnPredictOptions = {}): Detection[] {
    checkCascadeBatch(batch);
    const cfg = this.config;
    const maskThr = opts.maskThr ?? cfg.test.rcnn.maskThr;
    if (!Number.isFinite(maskThr)) throw new Error(`CascadeRCNN.predict: maskThr must be a finite number, got ${maskThr}`);
    const levels = this.features(batch.images);
    try {
      const out = tf.tidy(() => this.rpnHead.forward(levels));
      let proposals: Float32Array[];
      try {
        proposals = this.proposals(out, batch.metas, cfg.test.rpn).map((p) => p.boxes);
      } finally {
        tf.dispose([...out.cls, ...out.reg]);
      }
      const dets = this.roiHead.predictBoxes(levels, proposals, batch.metas, cfg.test.rcnn);
      return this.roiHead.predictMasks(levels, dets, batch.metas, maskThr);
    } finally {
      tf.dispose(levels);
    }
  }

  /** `predict` with every network output read by `await tensor.data()` (one read per stage; no synchronous GPU read). */
  async predictAsync(batch: MaskRcnnBatch, opts: CascadeRcnnPredictOptions = {}): Promise<Detection[]> {
    checkCascadeBatch(batch);
    const cfg = this.config;
    const maskThr = opts.maskThr ?? cfg.test.rcnn.maskThr;
    if (!Number.isFinite(maskThr)) throw new Error(`CascadeRCNN.predict: maskThr must be a finite number, got ${maskThr}`);
    const levels = this.features(batch.images);
    try {
      const out = tf.tidy(() => this.rpnHead.forward(levels));
      let proposals: Float32Array[];
      try {
        await Promise.all([...out.cls, ...out.reg].map((t) => t.data())); // afterwards dataSync() is a CPU read
        proposals = this.proposals(out, batch.metas, cfg.test.rpn).map((p) => p.boxes);
      } finally {
        tf.dispose([...out.cls, ...out.reg]);
      }
      const dets = await this.roiHead.predictBoxesAsync(levels, proposals, batch.metas, cfg.test.rcnn);
      return await this.roiHead.predictMasksAsync(levels, dets, batch.metas, maskThr);
    } finally {
      tf.dispose(levels);
    }
  }
}

/** `new CascadeRCNN(options)`. */
export function cascadeRcnn(options: CascadeRcnnOptions): CascadeRCNN {
  return new CascadeRCNN(options);
}

/** The shared batch checks, and every meta's padSize equal to the batch tensor's (the masks are planes of that size). */
function checkCascadeBatch(batch: MaskRcnnBatch): void {
  checkBatch('CascadeRCNN', batch);
  const x = batch.images;
  batch.metas.forEach((m, i) => {
    if (m.padSize.height !== x.shape[1] || m.padSize.width !== x.shape[2]) {
      throw new Error(
        `CascadeRCNN: image ${m.imageId} (batch index ${i}): meta padSize ${m.padSize.width}×${m.padSize.height} differs from the batch tensor ${x.shape[2]}×${x.shape[1]}`,
      );
    }
  });
}
