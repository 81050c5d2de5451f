/**
 * torchvision's `RetinaNet` (v1) for inference from tiedet's modules: ResNet (`backbone`), FPN on C3–C5 with P6 / P7
 * from P5 and a ReLU before P7 (`neck`, torchvision's `LastLevelP6P7(256, 256)`), RetinaHead with 91 sigmoid
 * classes (`bbox_head`; torchvision's label 0 keeps its channel and can be predicted, as in torchvision), then
 * postprocess.ts `tvRetinaDetections` and `resize_boxes`. Labels are torchvision's (= COCO category ids).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResNet } from '../../src/backbones/resnet.js';
import { FPN } from '../../src/necks/fpn.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { featureSizes, imageLevelOutputs } from '../dense-head.js';
import type { DetectionBatch, Detection, Detector } from '../detector.js';
import { RetinaHead } from '../retinanet/head.js';
import { tvGridAnchors } from './anchors.js';
import type { TvRetinaNetConfig } from './config.js';
import { tvRetinaDetections } from './postprocess.js';
import { tvBackbone, type TvPredictOptions } from './rcnn.js';
import { tvResizeBoxes } from './transform.js';

export class TvRetinaNet extends Module implements Detector {
  readonly numClasses: number;
  readonly config: TvRetinaNetConfig;
  readonly backbone: ResNet;
  readonly neck: FPN;
  readonly bboxHead: RetinaHead;

  constructor(config: TvRetinaNetConfig, opts: { seed?: number } = {}) {
    super();
    this.config = config;
    this.numClasses = config.numClasses;
    const rng = new Rng(opts.seed ?? 0);
    this.backbone = this.registerModule('backbone', tvBackbone(config.backbone, rng));
    try {
      const c = config.fpnChannels;
      this.neck = this.registerModule(
        'neck',
        new FPN({ inChannels: this.backbone.outChannels, outChannels: c, startLevel: 1, numOuts: 5, addExtraConvs: 'on_output', reluBeforeExtraConvs: true, rng }),
      );
      this.bboxHead = this.registerModule(
        'bbox_head',
        new RetinaHead({ numClasses: config.numClasses, inChannels: c, featChannels: c, stackedConvs: 4, numAnchors: config.aspectRatios.length * config.anchorSizes[0]!.length, rng }),
      );
      this.eval(); // inference presets: FrozenBatchNorm2d = BatchNorm with running statistics
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  loss(): Record<string, tf.Scalar> {
    throw new Error('torchvision presets are for inference: train with an mmdetection-style config instead');
  }

  /**
   * The Detector contract's asynchronous predict. torchvision presets post-process with synchronous reads (as their
   * parity with torchvision is tested on wasm): this runs `predict`, so on webgpu it stops with the engine's named
   * synchronous-read error; on wasm, cpu and tensorflow it is `predict`.
   */
  async predictAsync(batch: DetectionBatch, opts: TvPredictOptions = {}): Promise<Detection[]> {
    return this.predict(batch, opts);
  }

  predict(batch: DetectionBatch, opts: TvPredictOptions = {}): Detection[] {
    this.assertAlive('predict');
    const cfg = this.config;
    const [, H, W] = batch.images.shape;
    const out = tf.tidy(() => {
      const levels = this.neck.forward(this.backbone.forward(batch.images));
      return this.bboxHead.forward(levels);
    });
    try {
      const anchors = tvGridAnchors(cfg.anchorSizes, cfg.aspectRatios, featureSizes(out.cls), H, W);
      const per = imageLevelOutputs(out, anchors, cfg.numClasses);
      const post = { ...cfg, scoreThresh: opts.scoreThresh ?? cfg.scoreThresh };
      return batch.metas.map((meta, i) => {
        const d = tvRetinaDetections(per[i]!, cfg.numClasses, [meta.resizedSize.height, meta.resizedSize.width], post);
        return { imageId: meta.imageId, boxes: tvResizeBoxes(d.boxes, meta), scores: d.scores, labels: d.labels };
      });
    } finally {
      tf.dispose([...out.cls, ...out.reg]);
    }
  }
}
