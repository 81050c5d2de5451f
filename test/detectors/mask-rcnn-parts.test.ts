/**
 * Mask R-CNN's parts: config defaults and checks, mmdetection parameter names and PyTorch shapes, the transposed
 * conv, RPN proposals (per-level top-k, NMS per level, caps, clipping), RPN / box / mask loss normalisation, RoI
 * sampling (every GT box becomes a training RoI; mask targets from the GT bitmaps), the R-CNN post-processing, mask
 * pasting back into the original image after resize + flip, input errors, and flat tensor counts over training
 * steps and predictions.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { maskToOriginal } from '../../data/transforms/inverse.js';
import type { LevelOutputs } from '../../detectors/dense-head.js';
import { rcnnDetections } from '../../detectors/mask-rcnn/bbox-postprocess.js';
import { bboxHeadLoss } from '../../detectors/mask-rcnn/bbox-head.js';
import { MASK_RCNN_TINY, defaultMaskRcnnConfig, maskRcnnConfig } from '../../detectors/mask-rcnn/config.js';
import { ConvTranspose2d } from '../../src/nn/conv-transpose2d.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { FCNMaskHead, maskHeadLoss, selectClass } from '../../detectors/mask-rcnn/mask-head.js';
import { detectionToOriginal } from '../../detectors/mask-rcnn/detection-to-original.js';
import { imageProposals } from '../../detectors/mask-rcnn/proposals.js';
import { sampleRois } from '../../detectors/mask-rcnn/roi-sampling.js';
import { rpnLoss } from '../../detectors/mask-rcnn/rpn-head.js';
import type { RpnTargets } from '../../detectors/mask-rcnn/rpn-targets.js';
import { decode } from '../../src/structures/rle.js';
import { rleFromString } from '../../src/structures/rle-string.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { describeState, torchShape } from '../../src/io/torch-layout.js';
import { Rng } from '../../src/nn/rng.js';
import { pasteMasks } from '../../src/ops/paste-masks.js';
import { SGD } from '../../src/train/sgd.js';
import { expectClose, trackTensors } from '../nn/helpers.js';
import { maskScenes } from './mask-rcnn-scenes.js';
import { imageMeta as meta } from './scene-parts.js';

trackTensors('test');

const logit = (p: number) => Math.log(p / (1 - p));

function tinyModel(numClasses = 3, seed = 2): MaskRCNN {
  return new MaskRCNN({
    backbone: tiedResNetTiny({ numClasses: null, frozenStages: -1, normEval: false, seed: 1 }),
    config: maskRcnnConfig(MASK_RCNN_TINY, { numClasses }),
    seed,
  });
}

describe('config', () => {
  it('has mmdetection mask-rcnn_r50_fpn_2x defaults', () => {
    const c = maskRcnnConfig();
    expect(c.model.rpnHead.anchors).toEqual({ scales: [8], ratios: [0.5, 1, 2], strides: [4, 8, 16, 32, 64] });
    expect(c.model.bboxHead.coder.stds).toEqual([0.1, 0.1, 0.2, 0.2]);
    expect([c.model.bboxHead.roiExtractor.outputSize, c.model.maskHead.roiExtractor.outputSize, c.train.rcnn.maskSize]).toEqual([7, 14, 28]);
    expect([c.train.rpnProposal.nmsPre, c.train.rpnProposal.maxPerImg, c.test.rpn.nmsPre, c.test.rpn.maxPerImg]).toEqual([2000, 1000, 1000, 1000]);
    expect([c.train.rpn.sampler.num, c.train.rpn.sampler.posFraction, c.train.rcnn.sampler.num, c.train.rcnn.sampler.posFraction]).toEqual([256, 0.5, 512, 0.25]);
    expect(c.train.rcnn.sampler.addGtAsProposals).toBe(true);
    expect(c.test.rcnn).toEqual({ scoreThr: 0.05, nmsIouThr: 0.5, maxPerImg: 100, maskThr: 0.5 });
  });

  it('merges several overrides in order and rejects unknown or inconsistent fields', () => {
    const c = maskRcnnConfig(MASK_RCNN_TINY, { numClasses: 3, train: { rcnn: { sampler: { num: 32 } } } });
    expect([c.numClasses, c.model.neck.outChannels, c.train.rcnn.sampler.num, c.train.rcnn.sampler.posFraction]).toEqual([3, 32, 32, 0.25]);
    expect(defaultMaskRcnnConfig().model.neck.outChannels).toBe(256);
    expect(() => maskRcnnConfig({ test: { rcnn: { maskThreshold: 0.4 } } } as never)).toThrow('maskRcnnConfig.test.rcnn: unknown option "maskThreshold"');
    expect(() => maskRcnnConfig({ train: { rcnn: { maskSize: 14 } } })).toThrow('train.rcnn.maskSize (14) must be twice');
    expect(() => maskRcnnConfig({ numClasses: 0 })).toThrow('numClasses must be a positive integer, got 0');
  });
});

describe('parameter names', () => {
  it("are mmdetection's Mask R-CNN keys with its PyTorch shapes", () => {
    const model = new MaskRCNN({ backbone: tiedResNetTiny({ numClasses: null }), config: { numClasses: 80 } });
    try {
      const shapes = Object.fromEntries(
        [...describeState(model)].filter(([k]) => !k.startsWith('backbone.')).map(([k, e]) => [k, torchShape(e).join('x')]),
      );
      const expected: Record<string, string> = {};
      [64, 128, 256, 512].forEach((c, i) => {
        expected[`neck.lateral_convs.${i}.conv.weight`] = `256x${c}x1x1`;
        expected[`neck.lateral_convs.${i}.conv.bias`] = '256';
      });
      for (let i = 0; i < 4; i++) Object.assign(expected, { [`neck.fpn_convs.${i}.conv.weight`]: '256x256x3x3', [`neck.fpn_convs.${i}.conv.bias`]: '256' });
      Object.assign(expected, {
        'rpn_head.rpn_conv.weight': '256x256x3x3',
        'rpn_head.rpn_conv.bias': '256',
        'rpn_head.rpn_cls.weight': '3x256x1x1',
        'rpn_head.rpn_cls.bias': '3',
        'rpn_head.rpn_reg.weight': '12x256x1x1',
        'rpn_head.rpn_reg.bias': '12',
        'roi_head.bbox_head.shared_fcs.0.weight': '1024x12544',
        'roi_head.bbox_head.shared_fcs.0.bias': '1024',
        'roi_head.bbox_head.shared_fcs.1.weight': '1024x1024',
        'roi_head.bbox_head.shared_fcs.1.bias': '1024',
        'roi_head.bbox_head.fc_cls.weight': '81x1024',
        'roi_head.bbox_head.fc_cls.bias': '81',
        'roi_head.bbox_head.fc_reg.weight': '320x1024',
        'roi_head.bbox_head.fc_reg.bias': '320',
        'roi_head.mask_head.upsample.weight': '256x256x2x2',
        'roi_head.mask_head.upsample.bias': '256',
        'roi_head.mask_head.conv_logits.weight': '80x256x1x1',
        'roi_head.mask_head.conv_logits.bias': '80',
      });
      for (let i = 0; i < 4; i++) Object.assign(expected, { [`roi_head.mask_head.convs.${i}.conv.weight`]: '256x256x3x3', [`roi_head.mask_head.convs.${i}.conv.bias`]: '256' });
      expect(shapes).toEqual(expected);
      expect([...model.stateDict().keys()].filter((k) => k.startsWith('backbone.')).length).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });
});

describe('ConvTranspose2d', () => {
  it('matches out[2y + ky, 2x + kx, o] = Σ_i in[y, x, i]·W[i, o, ky, kx] + b', () => {
    const rng = new Rng(3);
    const up = new ConvTranspose2d({ inChannels: 3, outChannels: 2, kernelSize: 2, stride: 2, rng });
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 4 * 3 }, () => rng.uniformIn(-1, 1)), [2, 3, 4, 3]);
    const y = up.forward(x);
    expect(y.shape).toEqual([2, 6, 8, 2]);
    const X = x.dataSync();
    const W = up.weight.dataSync(); // [kh, kw, out, in]
    const B = up.bias!.dataSync();
    const want = new Float32Array(2 * 6 * 8 * 2);
    for (let n = 0; n < 2; n++)
      for (let yy = 0; yy < 3; yy++)
        for (let xx = 0; xx < 4; xx++)
          for (let ky = 0; ky < 2; ky++)
            for (let kx = 0; kx < 2; kx++)
              for (let o = 0; o < 2; o++) {
                let s = B[o]!;
                for (let i = 0; i < 3; i++) s += X[((n * 3 + yy) * 4 + xx) * 3 + i]! * W[((ky * 2 + kx) * 2 + o) * 3 + i]!;
                want[((n * 6 + 2 * yy + ky) * 8 + 2 * xx + kx) * 2 + o] = s;
              }
    expectClose(y, want, { atol: 1e-5 });
    tf.dispose([x, y]);
    up.dispose();
  });
});

describe('FCNMaskHead.classProbabilities', () => {
  it("equals the sigmoid of each RoI's class channel of the full forward; no RoIs give [0, M, M]", () => {
    const head = new FCNMaskHead({ numClasses: 7, inChannels: 8, convChannels: 12, numConvs: 2, seed: 4 });
    const rng = new Rng(5);
    // a non-zero logits bias, so that the gathered bias is checked too
    tf.tidy(() => head.convLogits.bias!.assign(tf.tensor1d(Float32Array.from({ length: 7 }, () => rng.uniformIn(-1, 1)))));
    const feats = tf.tensor4d(Float32Array.from({ length: 5 * 6 * 6 * 8 }, () => rng.uniformIn(-1, 1)), [5, 6, 6, 8]);
    const labels = Int32Array.from([6, 0, 3, 3, 1]);
    const got = head.classProbabilities(feats, labels);
    const want = tf.tidy(() => tf.sigmoid(selectClass(head.forward(feats), labels)));
    expect(got.shape).toEqual([5, 12, 12]);
    expectClose(got, want.dataSync(), { atol: 1e-6 });
    const empty = tf.zeros([0, 6, 6, 8]) as tf.Tensor4D;
    const none = head.classProbabilities(empty, new Int32Array(0));
    expect(none.shape).toEqual([0, 12, 12]);
    expect(() => head.classProbabilities(feats, Int32Array.from([0, 1, 2, 3, 7]))).toThrow('label 7 outside [0, 7)');
    tf.dispose([feats, got, want, empty, none]);
    head.dispose();
  });
});

describe('RPN proposals', () => {
  const coder = { means: [0, 0, 0, 0] as const, stds: [1, 1, 1, 1] as const };
  /** A level of `n` anchors [x, 0, x + 10, 10] (x = 20·i) with the given objectness and zero deltas. */
  function level(probs: number[], x0 = 0): LevelOutputs {
    const anchors = new Float32Array(probs.length * 4);
    probs.forEach((_, i) => anchors.set([x0 + 20 * i, 0, x0 + 20 * i + 10, 10], 4 * i));
    return { logits: Float32Array.from(probs, logit), deltas: new Float32Array(probs.length * 4), anchors };
  }

  it('takes the nms_pre best anchors of each level, NMS within a level only, and caps at max_per_img', () => {
    const m = meta({ w: 400, h: 100 });
    const cfg = { nmsPre: 3, maxPerImg: 100, iouThr: 0.7, minBboxSize: 0 };
    // level 0: 5 anchors, only the 3 best survive nms_pre; level 1: the same boxes as level 0 (no cross-level NMS)
    const p = imageProposals([level([0.1, 0.9, 0.3, 0.8, 0.2]), level([0.6, 0.5, 0.4, 0.35, 0.05])], m, cfg, coder);
    expect(Array.from(p.scores)).toEqual(Array.from(Float32Array.from([0.9, 0.8, 0.6, 0.5, 0.4, 0.3])).map((v) => expect.closeTo(v, 6)));
    expect(Array.from(p.levels)).toEqual([0, 0, 1, 1, 1, 0]);
    expect(Array.from(p.boxes.subarray(0, 4))).toEqual([20, 0, 30, 10]);
    expect(Array.from(p.boxes.subarray(8, 12))).toEqual([0, 0, 10, 10]); // level 1 keeps the box level 0 dropped
    const capped = imageProposals([level([0.1, 0.9, 0.3, 0.8, 0.2]), level([0.6, 0.5, 0.4, 0.35, 0.05])], m, { ...cfg, maxPerImg: 4 }, coder);
    expect(Array.from(capped.scores)).toEqual(Array.from(p.scores.subarray(0, 4)));
  });

  it('suppresses IoU > 0.7 within a level and keeps IoU = 0.7 exactly; drops empty boxes; clips to the image', () => {
    const m = meta({ w: 100, h: 50 });
    const anchors = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 7, 0, 0, 10, 7.5, 90, 40, 130, 60, 50, 5, 50, 20]);
    const lv = { logits: Float32Array.from([0.9, 0.8, 0.7, 0.6, 0.95].map(logit)), deltas: new Float32Array(20), anchors };
    const p = imageProposals([lv], m, { nmsPre: 1000, maxPerImg: 1000, iouThr: 0.7, minBboxSize: 0 }, coder);
    // [0,0,10,7] has IoU 0.7 with [0,0,10,10]: kept; [0,0,10,7.5] has 0.75: suppressed; the zero-width box is dropped
    expect(Array.from(p.boxes)).toEqual([0, 0, 10, 10, 0, 0, 10, 7, 90, 40, 100, 50]);
    expect(p.scores.length).toBe(3);
  });

  it('a model yields at most max_per_img proposals per image, score-sorted, inside the image', () => {
    const model = tinyModel();
    const scenes = maskScenes({ count: 2, size: 64, original: 64, seed: 1, objects: [1, 2], sides: [20, 30] });
    const batch = scenes.batch();
    try {
      const levels = model.features(batch.images);
      const out = model.rpnHead.forward(levels);
      const props = model.proposals(out, batch.metas, model.config.train.rpnProposal);
      tf.dispose([...levels, ...out.cls, ...out.reg]);
      for (const p of props) {
        expect(p.scores.length).toBe(100); // MASK_RCNN_TINY: 100 per image (there are far more anchors)
        for (let i = 1; i < p.scores.length; i++) expect(p.scores[i]!).toBeLessThanOrEqual(p.scores[i - 1]!);
        for (let i = 0; i < p.boxes.length; i += 4) {
          expect(p.boxes[i]!).toBeGreaterThanOrEqual(0);
          expect(p.boxes[i + 2]!).toBeLessThanOrEqual(64);
          expect(p.boxes[i + 2]! - p.boxes[i]!).toBeGreaterThan(0);
        }
      }
    } finally {
      tf.dispose(batch.images);
      model.dispose();
    }
  });
});

describe('losses', () => {
  it('RPN: sigmoid CE over the sampled anchors and L1 over the positives, both / avg_factor', () => {
    const cls = [tf.tensor4d([2, -1, 0.5, 0], [1, 2, 2, 1])];
    const reg = [tf.tensor4d(Float32Array.from({ length: 16 }, (_, i) => i / 10 - 0.5), [1, 2, 2, 4])];
    const t: RpnTargets = {
      numAnchors: 4,
      sampled: Int32Array.from([0, 1, 3]),
      sampledTargets: Float32Array.from([1, 0, 0]),
      posIndices: Int32Array.from([0]),
      bboxTargets: Float32Array.from([0, 0, 0, 0]),
      avgFactor: 3,
      numPos: 1,
      numNeg: 2,
    };
    const l = rpnLoss({ cls, reg }, t, { clsWeight: 1, bboxWeight: 2 });
    const bce = (x: number, y: number) => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    expect(l.loss_rpn_cls.dataSync()[0]).toBeCloseTo((bce(2, 1) + bce(-1, 0) + bce(0, 0)) / 3, 5);
    expect(l.loss_rpn_bbox.dataSync()[0]).toBeCloseTo((2 * (0.5 + 0.4 + 0.3 + 0.2)) / 3, 5);
    tf.dispose([...cls, ...reg, l.loss_rpn_cls, l.loss_rpn_bbox]);
  });

  it('box head: CE over all RoIs / #RoIs, L1 on the GT-class deltas of positives / #RoIs (mmdet avg_factor)', () => {
    const C = 2;
    const cls = tf.tensor2d([2, 0, 0, 0, 1, 0, 0, 0, 3], [3, 3]);
    const reg = tf.tensor2d(Float32Array.from({ length: 24 }, (_, i) => i / 10), [3, 8]);
    const l = bboxHeadLoss({ cls, reg }, { labels: Int32Array.from([0, 1, 2]), posRows: Int32Array.from([0, 1]), deltas: new Float32Array(8) }, C, { clsWeight: 1, bboxWeight: 1 });
    const ce = (row: number[], y: number) => -row[y]! + Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    expect(l.loss_cls.dataSync()[0]).toBeCloseTo((ce([2, 0, 0], 0) + ce([0, 1, 0], 1) + ce([0, 0, 3], 2)) / 3, 5);
    // row 0 class 0: columns 0..3 = 0, .1, .2, .3; row 1 class 1: columns 4..7 of row 1 = 1.2 … 1.5
    expect(l.loss_bbox.dataSync()[0]).toBeCloseTo((0.6 + 1.2 + 1.3 + 1.4 + 1.5) / 3, 5);
    expect(l.acc.dataSync()[0]).toBeCloseTo(100, 5);
    tf.dispose([cls, reg, l.loss_cls, l.loss_bbox, l.acc]);
  });

  it("mask: BCE of each RoI's GT-class channel only, mean over P·M·M", () => {
    const logits = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => (i % 3) - 1 + i / 100), [2, 2, 2, 3]);
    const targets = tf.tensor3d([1, 0, 1, 1, 0, 0, 1, 0], [2, 2, 2]);
    const l = maskHeadLoss(logits, Int32Array.from([2, 0]), targets, 1).loss_mask;
    const L = logits.dataSync();
    const T = targets.dataSync();
    const bce = (x: number, y: number) => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    let s = 0;
    for (let p = 0; p < 2; p++) for (let k = 0; k < 4; k++) s += bce(L[(p * 4 + k) * 3 + (p === 0 ? 2 : 0)]!, T[p * 4 + k]!);
    expect(l.dataSync()[0]).toBeCloseTo(s / 8, 5);
    tf.dispose([logits, targets, l]);
  });
});

describe('RoI sampling', () => {
  it('every GT box is a training RoI, labelled with its class; background RoIs get label numClasses', () => {
    const scenes = maskScenes({ count: 3, size: 96, original: 96, seed: 5, objects: [2, 3], sides: [20, 40] });
    const batch = scenes.batch();
    tf.dispose(batch.images);
    const rng = new Rng(9);
    // proposals: random boxes (mostly background) plus jittered copies of the GT
    const proposals = batch.targets!.map((t) => {
      const out: number[] = [];
      for (let i = 0; i < 300; i++) {
        const x = rng.uniformIn(0, 80);
        const y = rng.uniformIn(0, 80);
        out.push(x, y, x + rng.uniformIn(4, 16), y + rng.uniformIn(4, 16));
      }
      for (let g = 0; g < t.boxes.length; g += 4) for (let j = 0; j < 3; j++) out.push(...Array.from(t.boxes.subarray(g, g + 4), (v) => v + rng.uniformIn(-2, 2)));
      return Float32Array.from(out);
    });
    const cfg = maskRcnnConfig().train.rcnn;
    const s = sampleRois(proposals, batch.metas, batch.targets!, { numClasses: 3, assigner: cfg.assigner, sampler: cfg.sampler, coder: { stds: [0.1, 0.1, 0.2, 0.2] } }, rng);
    batch.targets!.forEach((t, i) => {
      for (let g = 0; g < t.boxes.length / 4; g++) {
        const hit = s.mask.boxes.findIndex((_, r) => r % 4 === 0 && s.mask.batch[r / 4] === i && s.mask.isGt[r / 4] === 1 && s.mask.gtIndex[r / 4] === g);
        expect(hit, `image ${i} GT ${g}`).toBeGreaterThanOrEqual(0);
        expect(Array.from(s.mask.boxes.subarray(hit, hit + 4))).toEqual(Array.from(t.boxes.subarray(4 * g, 4 * g + 4)));
        expect(s.mask.labels[hit / 4]).toBe(t.labels[g]);
      }
      expect(s.numPos[i]! + s.numNeg[i]!).toBe(Math.min(512, 300 + 4 * (t.boxes.length / 4)));
    });
    // RoI rows: each image's positives, then its negatives; labels, batch and targets agree
    expect(s.labels.length).toBe(s.boxes.length / 4);
    expect(s.posRows.length).toBe(s.mask.labels.length);
    for (const r of s.posRows) expect(s.labels[r]!).toBeLessThan(3);
    expect(s.labels.filter((l) => l === 3).length).toBe(s.numNeg.reduce((a, b) => a + b, 0));
    // a GT RoI regresses onto itself: zero deltas
    s.posRows.forEach((r, k) => {
      if (s.mask.isGt[k]) expect(Array.from(s.deltas.subarray(4 * k, 4 * k + 4)).map(Math.abs)).toEqual([0, 0, 0, 0]);
    });
  });

  it("mask targets of a GT RoI are its GT bitmap resized to 28×28 (from the model's own sampling)", () => {
    const model = tinyModel();
    const scenes = maskScenes({ count: 2, size: 96, original: 96, seed: 6, objects: [2, 2], sides: [24, 36] });
    const batch = scenes.batch();
    try {
      const props = batch.targets!.map(() => new Float32Array(0)); // only the GT boxes are candidates
      const s = model.roiHead.sample(props, batch.metas, batch.targets!, model.config.train.rcnn, new Rng(1));
      expect(Array.from(s.mask.labels).sort()).toEqual([0, 1, 2, 2]); // every class present
      const m = model.roiHead.maskTargets(s, batch.metas, batch.targets!, 28);
      for (let k = 0; k < 4; k++) {
        const t = m.subarray(k * 784, (k + 1) * 784);
        const cls = s.mask.labels[k]!;
        const mean = t.reduce((a, b) => a + b, 0) / 784;
        // rectangle fills its box, ellipse ≈ π/4 of it, triangle ≈ 1/2
        expect(mean).toBeCloseTo([1, Math.PI / 4, 0.5][cls]!, 1);
        if (cls === 2) {
          const row = (r: number) => t.subarray(r * 28, (r + 1) * 28).reduce((a, b) => a + b, 0);
          expect(row(0)).toBeLessThan(4); // apex: the middle only
          expect(row(27)).toBeGreaterThan(25); // base: (nearly) the full width
          expect(row(7)).toBeLessThan(row(20));
        }
      }
    } finally {
      tf.dispose(batch.images);
      model.dispose();
    }
  });
});

describe('R-CNN post-processing', () => {
  it('drops background and scores ≤ score_thr, decodes per class, NMS per class, max_per_img', () => {
    const rois = Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60]);
    // classes: 0, 1, background
    const probs = Float32Array.from([0.7, 0.2, 0.1, 0.6, 0.35, 0.05, 0.04, 0.05, 0.91]);
    const deltas = new Float32Array(3 * 8);
    deltas[8 + 4] = 1; // RoI 1, class 1: dx = 1·0.1 → shifted by one tenth of the width
    const m = meta({ w: 100, h: 100 });
    const cfg = { scoreThr: 0.05, nmsIouThr: 0.5, maxPerImg: 100 };
    const d = rcnnDetections(rois, probs, deltas, 2, m, cfg, { stds: [0.1, 0.1, 0.2, 0.2] });
    // (0,c0) 0.7 keeps, (1,c0) 0.6 suppressed by it (IoU 0.68), (1,c1) 0.35 and (0,c1) 0.2 overlap (IoU 0.68 → 0.2 suppressed);
    // (2,c0) 0.04 and (2,c1) 0.05 are not above 0.05; the background 0.91 is never a detection
    expect(Array.from(d.scores)).toEqual([0.7, 0.35].map(Math.fround));
    expect(Array.from(d.labels)).toEqual([0, 1]);
    expect(Array.from(d.boxes)).toEqual([0, 0, 10, 10, 2, 1, 12, 11]);
    const one = rcnnDetections(rois, probs, deltas, 2, m, { ...cfg, maxPerImg: 1 }, { stds: [0.1, 0.1, 0.2, 0.2] });
    expect(Array.from(one.labels)).toEqual([0]);
  });
});

describe('mask pasting into the original image', () => {
  // network input 100×60 = the original 200×120 resized by 0.5, then flipped
  const flippedMeta = meta({ w: 100, h: 60, originalSize: { width: 200, height: 120 }, scaleFactor: [0.5, 0.5], flipped: true });
  const M = 28;
  // probability 1 on the LEFT half of the box (as seen on the flipped network input), 0 elsewhere
  const leftHalf = Float32Array.from({ length: M * M }, (_, i) => (i % M < M / 2 ? 1 : 0));
  const netDet = { boxes: Float32Array.from([10, 20, 40, 50]), scores: Float32Array.from([0.9]), labels: Int32Array.from([1]) };

  it('undoes the flip and the resize for boxes and masks', () => {
    const d = detectionToOriginal(netDet, leftHalf, M, flippedMeta, 0.5);
    // unflipped network box [100 − 40, 20, 100 − 10, 50] = [60, 20, 90, 50] → ÷ 0.5
    expect(Array.from(d.boxes)).toEqual([120, 40, 180, 100]);
    expect(d.masks![0]!.size).toEqual([120, 200]);
    const bits = decode(rleFromString(d.masks![0]!.counts, 120, 200), 'row');
    const at = (x: number, y: number) => bits[y * 200 + x];
    // the left half on the flipped input is the RIGHT half of the box in the original image
    expect([at(170, 70), at(155, 45), at(178, 98)]).toEqual([1, 1, 1]);
    expect([at(130, 70), at(145, 70), at(100, 70), at(170, 30)]).toEqual([0, 0, 0, 0]);
    let fg = 0;
    let inRect = 0;
    for (let y = 0; y < 120; y++)
      for (let x = 0; x < 200; x++) {
        if (!at(x, y)) continue;
        fg++;
        if (x >= 150 && x < 180 && y >= 40 && y < 100) inRect++;
      }
    expect(inRect / fg).toBeGreaterThan(0.97);
    expect(inRect / (30 * 60)).toBeGreaterThan(0.9);
  });

  it('agrees with pasting on the network input and mapping the bitmap back with data/transforms/inverse', () => {
    const probs = Float32Array.from({ length: M * M }, (_, i) => {
      const [r, c] = [Math.floor(i / M), i % M];
      return (r - 9) ** 2 + (c - 18) ** 2 < 64 ? 0.9 : 0.1; // an off-centre disc
    });
    const ours = detectionToOriginal(netDet, probs, M, flippedMeta, 0.5);
    const net = decode(pasteMasks(probs, netDet.boxes, 60, 100, { maskSize: M })[0]!, 'row');
    const back = maskToOriginal(net, 100, 60, flippedMeta);
    const mine = decode(rleFromString(ours.masks![0]!.counts, 120, 200), 'row');
    let inter = 0;
    let union = 0;
    for (let i = 0; i < mine.length; i++) {
      inter += mine[i]! & back[i]!;
      union += mine[i]! | back[i]!;
    }
    expect(union).toBeGreaterThan(400);
    expect(inter / union).toBeGreaterThan(0.9);
  });
});

describe('MaskRCNN', () => {
  it('names the image and field of bad targets', () => {
    const model = tinyModel();
    const scenes = maskScenes({ count: 1, size: 64, original: 64, seed: 1, objects: [1, 1], sides: [20, 30] });
    const batch = scenes.batch();
    const t = batch.targets![0]!;
    try {
      expect(() => model.loss({ ...batch, targets: [{ ...t, labels: Int32Array.from([5]) }] })).toThrow('targets of image 1 (batch index 0): labels[0] is 5, not an integer in [0, 3)');
      expect(() => model.loss({ ...batch, targets: [{ ...t, masks: null }] })).toThrow('targets of image 1 (batch index 0): masks are missing');
      expect(() => model.loss({ ...batch, targets: [{ ...t, masks: new Uint8Array(10) }] })).toThrow('masks has 10 bytes, expected 1 boxes × 64 × 64');
      expect(() => model.loss({ ...batch, targets: [{ ...t, boxes: Float32Array.from([5, 5, 5, 9]) }] })).toThrow('boxes[0] [5, 5, 5, 9] must be finite with x2 > x1');
      expect(() => model.predict({ ...batch, metas: [{ ...batch.metas[0]!, padSize: { width: 32, height: 64 } }] })).toThrow('meta padSize 32×64 differs from the batch tensor 64×64');
      expect(() => model.predict(batch, { maskThr: NaN })).toThrow('maskThr must be a finite number');
    } finally {
      tf.dispose(batch.images);
      model.dispose();
    }
  });

  it('keeps the tensor count flat over training steps and predictions; predictions are COCO-ready', () => {
    const model = tinyModel();
    const scenes = maskScenes({ count: 2, size: 64, original: 128, seed: 3, objects: [1, 2], sides: [44, 60] });
    const batch = scenes.batch(true);
    const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.01, momentum: 0.9 });
    const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
    try {
      const counts: number[] = [];
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.variableGrads(() => {
          const l = model.loss(batch);
          expect(Object.keys(l).sort()).toEqual(['acc', 'loss_bbox', 'loss_cls', 'loss_mask', 'loss_rpn_bbox', 'loss_rpn_cls']);
          return tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
        }, model.trainableVariables());
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        // every head receives a gradient
        for (const prefix of ['neck.', 'rpn_head.', 'roi_head.bbox_head.', 'roi_head.mask_head.', 'backbone.']) {
          expect(Object.keys(grads).some((k) => names.get(k)!.startsWith(prefix)), prefix).toBe(true);
        }
        sgd.step(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
        tf.dispose([value, ...Object.values(grads)]);
        counts.push(tf.memory().numTensors - model.numDerivedTensors());
      }
      model.eval();
      for (let k = 0; k < 2; k++) {
        const dets = model.predict(batch, { maskThr: 0.4 });
        counts.push(tf.memory().numTensors - model.numDerivedTensors());
        expect(dets.map((d) => d.imageId)).toEqual([1, 2]);
        for (const d of dets) {
          expect(d.masks!.length).toBe(d.scores.length);
          for (const mk of d.masks!) expect(mk.size).toEqual([128, 128]);
          for (let i = 0; i < d.boxes.length; i++) expect(d.boxes[i]!).toBeGreaterThanOrEqual(0);
          for (let i = 0; i < d.boxes.length; i++) expect(d.boxes[i]!).toBeLessThanOrEqual(128);
        }
      }
      expect(new Set(counts).size, `tensor counts ${counts.join(', ')}`).toBe(1);
    } finally {
      tf.dispose(batch.images);
      sgd.dispose();
      model.dispose();
    }
  });
});
