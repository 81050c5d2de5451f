/**
 * Mask R-CNN (He et al. 2017) = backbone + FPN (P2–P6) + RPN + RoI head (box and mask branches), as mmdetection's
 * `MaskRCNN` (a `TwoStageDetector`) with the hyper-parameters of `MaskRcnnConfig` (config.ts).
 *
 * - Names are mmdetection's checkpoint keys (TF.js layout): `backbone.*`, `neck.lateral_convs.{i}.conv.*`,
 *   `neck.fpn_convs.{i}.conv.*`, `rpn_head.rpn_conv|rpn_cls|rpn_reg.*`, `roi_head.bbox_head.shared_fcs.{0,1}.*`,
 *   `roi_head.bbox_head.fc_cls|fc_reg.*`, `roi_head.mask_head.convs.{i}.conv.*`, `roi_head.mask_head.upsample.*`,
 *   `roi_head.mask_head.conv_logits.*`.
 * - `loss(batch)` → { loss_rpn_cls, loss_rpn_bbox, loss_cls, loss_bbox, acc, loss_mask } (mmdetection's keys; `acc`
 *   is logged, not optimised): pyramid → RPN outputs → RPN targets (rpn-targets.ts) and losses; proposals from the
 *   same outputs with the train proposal config (proposals.ts; data, no gradient); RoI head losses (roi-head.ts).
 *   Synchronous (it runs inside `tf.variableGrads`); RoI sampling draws from the detector's own seeded `Rng`.
 * - `predict(batch, { maskThr })` → one `Detection` per image: boxes, scores, labels and COCO RLE masks in ORIGINAL
 *   image pixels (resize and flip undone). Uses the test configs regardless of train/eval mode (call `eval()` first
 *   if the backbone's BatchNorm should use running statistics).
 * - Pieces for benchmarks and tools: `features` (backbone + neck), `rpnHead.forward`, `proposals`,
 *   `roiHead.predictBoxes`, `roiHead.predictMasks`.
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
import { readAll } from '../../src/engine/async-read.js';
import type { TapePhases } from '../../src/engine/async-grads.js';
import { maskRcnnConfig, type MaskRcnnConfig, type ProposalConfig } from './config.js';
import { imageProposals, type Proposals } from './proposals.js';
import { RPNHead, rpnLoss, type RpnHeadOutput } from './rpn-head.js';
import { rpnTargets } from './rpn-targets.js';
import { StandardRoIHead } from './roi-head.js';
import type { MaskRcnnBatch } from './targets.js';

export interface MaskRcnnOptions {
  /** The backbone (C2–C5), e.g. `resnet50({ numClasses: null })` or `tiedResNet50({ numClasses: null })`. */
  backbone: Backbone;
  /** Hyper-parameters: a full config, or overrides of mmdetection's defaults. */
  config?: MaskRcnnConfig | DeepPartial<MaskRcnnConfig>;
  /** The experiment's test settings (score threshold, NMS IoU, detections per image), applied over `config.test.rcnn`. */
  test?: TestSettings;
  /** Seeds the neck and head init (the backbone has its own) and then the RPN / RoI sampling. */
  rng?: Rng;
  seed?: number | string;
}

export interface MaskRcnnPredictOptions {
  /** Mask binarisation threshold (default: config.test.rcnn.maskThr, 0.5). */
  maskThr?: number;
}

export class MaskRCNN extends Module implements Detector<MaskRcnnBatch> {
  readonly config: MaskRcnnConfig;
  readonly numClasses: number;
  readonly backbone: Backbone;
  readonly neck: FPN;
  readonly rpnHead: RPNHead;
  readonly roiHead: StandardRoIHead;
  readonly anchorGenerator: AnchorGenerator;
  /** Draws the RPN anchor and RoI samples of `loss`. */
  readonly samplingRng: Rng;

  constructor(opts: MaskRcnnOptions) {
    super();
    const cfg = maskRcnnConfig(
      (opts.config ?? {}) as DeepPartial<MaskRcnnConfig>,
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
      throw new Error(`MaskRCNN: anchor strides [${strides.join(', ')}] do not match the FPN levels' strides [${this.neck.strides.join(', ')}]`);
    }
    const roiStrides = m.bboxHead.roiExtractor.featmapStrides;
    for (const [name, s] of [['bboxHead', roiStrides], ['maskHead', m.maskHead.roiExtractor.featmapStrides]] as const) {
      if (s.some((v, i) => v !== this.neck.strides[i])) {
        throw new Error(`MaskRCNN: model.${name}.roiExtractor.featmapStrides [${s.join(', ')}] do not match the FPN strides [${this.neck.strides.join(', ')}]`);
      }
    }
    const numAnchors = this.anchorGenerator.numBaseAnchors;
    if (numAnchors.some((a) => a !== numAnchors[0])) throw new Error('MaskRCNN: every RPN level needs the same number of anchors');
    this.rpnHead = this.registerModule(
      'rpn_head',
      new RPNHead({ inChannels: m.neck.outChannels, featChannels: m.rpnHead.featChannels, numAnchors: numAnchors[0]!, rng }),
    );
    this.roiHead = this.registerModule(
      'roi_head',
      new StandardRoIHead({ numClasses: cfg.numClasses, inChannels: m.neck.outChannels, bboxHead: m.bboxHead, maskHead: m.maskHead, rng }),
    );
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
    if (metas.length !== n) throw new Error(`MaskRCNN: ${n} images but ${metas.length} metas`);
    const levels = imageLevelOutputs(out, anchors, 1);
    const c = this.config.model.rpnHead.coder;
    const coder = { means: c.means, stds: c.stds, whRatioClip: c.whRatioClip };
    return metas.map((meta, i) => imageProposals(levels[i]!, meta, cfg, coder));
  }

  loss(batch: MaskRcnnBatch): Record<string, tf.Scalar> {
    checkMaskRcnnBatch(batch);
    if (!batch.targets) throw new Error('MaskRCNN.loss: the batch has no targets');
    return tf.tidy(() => {
      const levels = this.features(batch.images);
      const out = this.rpnHead.forward(levels);
      return this.lossFromRpn(batch, levels, out);
    });
  }

  /**
   * `loss` for `variableGradsAsync` (src/engine/async-grads.ts): the pyramid and the RPN on the tape, then the RPN
   * outputs read asynchronously (the only read of the step; no synchronous GPU read, so it runs on webgpu), then the
   * RPN targets, proposals, RoI sampling and the RoI head on the tape. The same operations and the same draws of
   * `samplingRng` in the same order as `loss`, hence the same losses and gradients.
   */
  async lossAsync(batch: MaskRcnnBatch, tape: TapePhases): Promise<Record<string, tf.Scalar>> {
    checkMaskRcnnBatch(batch);
    if (!batch.targets) throw new Error('MaskRCNN.loss: the batch has no targets');
    const { levels, out } = tape.run(() => {
      const levels = this.features(batch.images);
      return { levels, out: this.rpnHead.forward(levels) };
    });
    try {
      await tape.read([...out.cls, ...out.reg]);
      return tape.run(() => this.lossFromRpn(batch, levels, out));
    } finally {
      tf.dispose([...levels, ...out.cls, ...out.reg]);
    }
  }

  /** RPN targets and losses, proposals (reads the RPN outputs), RoI head losses. Call inside a tidy. */
  private lossFromRpn(batch: MaskRcnnBatch, levels: tf.Tensor4D[], out: RpnHeadOutput): Record<string, tf.Scalar> {
    const cfg = this.config;
    const targets = batch.targets!;
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
  }

  predict(batch: MaskRcnnBatch, opts: MaskRcnnPredictOptions = {}): Detection[] {
    checkMaskRcnnBatch(batch);
    const cfg = this.config;
    const maskThr = opts.maskThr ?? cfg.test.rcnn.maskThr;
    if (!Number.isFinite(maskThr)) throw new Error(`MaskRCNN.predict: maskThr must be a finite number, got ${maskThr}`);
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

  /** `predict` with asynchronous reads — the RPN outputs, the box head's, the masks' (every backend; webgpu). */
  async predictAsync(batch: MaskRcnnBatch, opts: MaskRcnnPredictOptions = {}): Promise<Detection[]> {
    checkMaskRcnnBatch(batch);
    const cfg = this.config;
    const maskThr = opts.maskThr ?? cfg.test.rcnn.maskThr;
    if (!Number.isFinite(maskThr)) throw new Error(`MaskRCNN.predict: maskThr must be a finite number, got ${maskThr}`);
    const levels = this.features(batch.images);
    try {
      const out = tf.tidy(() => this.rpnHead.forward(levels));
      let proposals: Float32Array[];
      try {
        await readAll([...out.cls, ...out.reg]);
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

/** `new MaskRCNN(options)`. */
export function maskRcnn(options: MaskRcnnOptions): MaskRCNN {
  return new MaskRCNN(options);
}

/** The shared batch checks, and every meta's padSize equal to the batch tensor's (the masks are planes of that size). */
function checkMaskRcnnBatch(batch: MaskRcnnBatch): void {
  checkBatch('MaskRCNN', batch);
  const x = batch.images;
  batch.metas.forEach((m, i) => {
    if (m.padSize.height !== x.shape[1] || m.padSize.width !== x.shape[2]) {
      throw new Error(
        `MaskRCNN: image ${m.imageId} (batch index ${i}): meta padSize ${m.padSize.width}×${m.padSize.height} differs from the batch tensor ${x.shape[2]}×${x.shape[1]}`,
      );
    }
  });
}
