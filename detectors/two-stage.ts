/**
 * mmdetection's `TwoStageDetector`: backbone + FPN + RPN + an RoI head, the frame Mask R-CNN and Cascade (Mask)
 * R-CNN share. This file owns everything but the RoI head: building the neck and the RPN (with their consistency
 * checks), the features, the proposals, the loss (RPN targets and losses, proposals, then the RoI head's losses —
 * synchronous `loss` and the webgpu-safe `lossAsync`) and inference (`predict`, `predictAsync`). A subclass passes
 * its config and a factory of its RoI head (mask-rcnn/roi-head.ts `StandardRoIHead`, cascade-rcnn/cascade-roi-head.ts
 * `CascadeRoIHead`), which draws from the same `Rng` right after the RPN head, so the initialisation order — FPN,
 * RPN head, RoI head, then the sampling seed — is the same for both.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../src/backbones/backbone.js';
import type { TapePhases } from '../src/engine/async-grads.js';
import { readAll } from '../src/engine/async-read.js';
import { FPN } from '../src/necks/fpn.js';
import { Module } from '../src/nn/module.js';
import { Rng } from '../src/nn/rng.js';
import { AnchorGenerator } from '../src/ops/anchors.js';
import type { ImageMeta } from '../data/meta.js';
import { featureSizes, imageLevelOutputs } from './dense-head.js';
import type { Detection, Detector } from './detector.js';
import { checkBatch } from './input-checks.js';
import type { MaskRcnnConfig, ProposalConfig } from './mask-rcnn/config.js';
import { imageProposals, type Proposals } from './mask-rcnn/proposals.js';
import { RPNHead, rpnLoss, type RpnHeadOutput } from './mask-rcnn/rpn-head.js';
import { rpnTargets } from './mask-rcnn/rpn-targets.js';
import type { NetDetections } from './mask-rcnn/bbox-postprocess.js';
import type { MaskRcnnBatch, MaskRcnnTargets } from './mask-rcnn/targets.js';

/** What the frame reads of a two-stage config (Mask R-CNN's and Cascade's configs both have it). */
export interface TwoStageConfig {
  numClasses: number;
  model: {
    neck: { outChannels: number };
    rpnHead: Pick<MaskRcnnConfig['model']['rpnHead'], 'featChannels' | 'anchors' | 'coder'> & { loss: Parameters<typeof rpnLoss>[2] };
    bboxHead: { roiExtractor: { featmapStrides: readonly number[] } };
    maskHead: { roiExtractor: { featmapStrides: readonly number[] } };
  };
  train: Pick<MaskRcnnConfig['train'], 'rpn' | 'rpnProposal' | 'padSizeDivisor'> & { rcnn: unknown };
  test: { rpn: ProposalConfig; rcnn: { maskThr: number } };
}

/** What the frame needs of an RoI head (`TR` / `TE`: its train / test config). */
export interface TwoStageRoIHead<TR, TE> extends Module {
  loss(
    levels: readonly tf.Tensor4D[],
    proposals: readonly Float32Array[],
    metas: readonly ImageMeta[],
    targets: readonly MaskRcnnTargets[],
    cfg: TR,
    rng: Rng,
  ): Record<string, tf.Scalar>;
  predictBoxes(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[], cfg: TE): NetDetections[];
  predictBoxesAsync(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[], cfg: TE): Promise<NetDetections[]>;
  predictMasks(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Detection[];
  predictMasksAsync(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Promise<Detection[]>;
}

export interface TwoStagePredictOptions {
  /** Mask binarisation threshold (default: config.test.rcnn.maskThr, 0.5). */
  maskThr?: number;
}

export abstract class TwoStageDetector<
    C extends TwoStageConfig,
    H extends TwoStageRoIHead<C['train']['rcnn'], C['test']['rcnn']>,
  >
  extends Module
  implements Detector<MaskRcnnBatch>
{
  readonly config: C;
  readonly numClasses: number;
  readonly backbone: Backbone;
  readonly neck: FPN;
  readonly rpnHead: RPNHead;
  readonly roiHead: H;
  readonly anchorGenerator: AnchorGenerator;
  /** Draws the RPN anchor and RoI samples of `loss`. */
  readonly samplingRng: Rng;

  /** `name` (the class name, e.g. 'MaskRCNN') starts the error messages. */
  protected constructor(
    private readonly detectorName: string,
    cfg: C,
    backbone: Backbone,
    rng: Rng,
    roiHead: (rng: Rng) => H,
  ) {
    super();
    this.config = cfg;
    this.numClasses = cfg.numClasses;
    const m = cfg.model;
    this.anchorGenerator = new AnchorGenerator(m.rpnHead.anchors);
    this.backbone = this.registerModule('backbone', backbone);
    this.neck = this.registerModule(
      'neck',
      new FPN({
        inChannels: backbone.outChannels,
        inStrides: backbone.strides,
        outChannels: m.neck.outChannels,
        startLevel: 0,
        numOuts: m.rpnHead.anchors.strides.length,
        addExtraConvs: false,
        rng,
      }),
    );
    const strides = this.anchorGenerator.strides.map(([w, h]) => (w === h ? w : NaN));
    if (strides.some((s, i) => s !== this.neck.strides[i])) {
      throw new Error(`${detectorName}: anchor strides [${strides.join(', ')}] do not match the FPN levels' strides [${this.neck.strides.join(', ')}]`);
    }
    for (const [name, s] of [['bboxHead', m.bboxHead.roiExtractor.featmapStrides], ['maskHead', m.maskHead.roiExtractor.featmapStrides]] as const) {
      if (s.some((v, i) => v !== this.neck.strides[i])) {
        throw new Error(`${detectorName}: model.${name}.roiExtractor.featmapStrides [${s.join(', ')}] do not match the FPN strides [${this.neck.strides.join(', ')}]`);
      }
    }
    const numAnchors = this.anchorGenerator.numBaseAnchors;
    if (numAnchors.some((a) => a !== numAnchors[0])) throw new Error(`${detectorName}: every RPN level needs the same number of anchors`);
    this.rpnHead = this.registerModule(
      'rpn_head',
      new RPNHead({ inChannels: m.neck.outChannels, featChannels: m.rpnHead.featChannels, numAnchors: numAnchors[0]!, rng }),
    );
    this.roiHead = this.registerModule('roi_head', roiHead(rng));
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
    if (metas.length !== n) throw new Error(`${this.detectorName}: ${n} images but ${metas.length} metas`);
    const levels = imageLevelOutputs(out, anchors, 1);
    const c = this.config.model.rpnHead.coder;
    const coder = { means: c.means, stds: c.stds, whRatioClip: c.whRatioClip };
    return metas.map((meta, i) => imageProposals(levels[i]!, meta, cfg, coder));
  }

  loss(batch: MaskRcnnBatch): Record<string, tf.Scalar> {
    this.checkTrainBatch(batch);
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
    this.checkTrainBatch(batch);
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

  predict(batch: MaskRcnnBatch, opts: TwoStagePredictOptions = {}): Detection[] {
    const maskThr = this.checkPredict(batch, opts);
    const cfg = this.config;
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
  async predictAsync(batch: MaskRcnnBatch, opts: TwoStagePredictOptions = {}): Promise<Detection[]> {
    const maskThr = this.checkPredict(batch, opts);
    const cfg = this.config;
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

  private checkTrainBatch(batch: MaskRcnnBatch): void {
    this.checkBatch(batch);
    if (!batch.targets) throw new Error(`${this.detectorName}.loss: the batch has no targets`);
  }

  /** The batch checks and the mask threshold of a prediction. */
  private checkPredict(batch: MaskRcnnBatch, opts: TwoStagePredictOptions): number {
    this.checkBatch(batch);
    const maskThr = opts.maskThr ?? this.config.test.rcnn.maskThr;
    if (!Number.isFinite(maskThr)) throw new Error(`${this.detectorName}.predict: maskThr must be a finite number, got ${maskThr}`);
    return maskThr;
  }

  /** The shared batch checks, and every meta's padSize equal to the batch tensor's (the masks are planes of that size). */
  private checkBatch(batch: MaskRcnnBatch): void {
    checkBatch(this.detectorName, batch);
    const x = batch.images;
    batch.metas.forEach((m, i) => {
      if (m.padSize.height !== x.shape[1] || m.padSize.width !== x.shape[2]) {
        throw new Error(
          `${this.detectorName}: image ${m.imageId} (batch index ${i}): meta padSize ${m.padSize.width}×${m.padSize.height} differs from the batch tensor ${x.shape[2]}×${x.shape[1]}`,
        );
      }
    });
  }
}
