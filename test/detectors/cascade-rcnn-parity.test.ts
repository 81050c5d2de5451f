/**
 * Parity of the cascade-specific arithmetic with a plain-torch re-implementation of mmdetection 3.x's formulas
 * (test/fixtures/ops/cascade.json, written by tools/fixtures/cascade_ops.py with Debian's torch 1.13):
 *
 *   per-stage targets   sampleRois with stage s's IoU threshold (0.5 / 0.6 / 0.7, no low-quality matches) and
 *                       target stds: RoI order (GT first, positives then negatives), labels, GT flags exact;
 *                       encoded deltas within 2e-5
 *   refinement          refineSampledRois (background → argmax foreground logit, class-agnostic decode with the
 *                       stage's stds, clipped to img_shape, GT rows dropped) within 1e-4 px, chained over the stages;
 *                       regressByClass with class-specific deltas within 1e-4 px
 *   score averaging     averageStageScores (logits) within 1e-6, softmaxRows of the mean within 1e-6
 *   mask averaging      sigmoid per stage (TF.js) then averageStageMasks within 1e-6
 * The sampler's budget exceeds the candidates, so sampling takes everything in index order (no RNG in the parity).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { softmaxRows } from '../../detectors/cascade-rcnn/cascade-roi-head.js';
import { refineSampledRois, regressByClass } from '../../detectors/cascade-rcnn/refine-rois.js';
import { averageStageMasks, averageStageScores } from '../../detectors/cascade-rcnn/stage-average.js';
import { sampleRois } from '../../detectors/mask-rcnn/roi-sampling.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose } from '../nn/helpers.js';
import { imageMeta } from './scene-parts.js';

interface Stage {
  proposals: number[][];
  rois: number[][];
  labels: number[][];
  deltas: number[][];
  isGt: number[][];
  numPos: number[];
  numNeg: number[];
  logits: number[];
  regDeltas: number[];
  refined?: number[][];
}

const fx = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'ops', 'cascade.json'), 'utf8')) as {
  chain: { numClasses: number; thrs: number[]; stds: [number, number, number, number][]; images: { height: number; width: number; gtBoxes: number[]; gtLabels: number[] }[]; stages: Stage[] };
  classSpecific: { height: number; width: number; rois: number[]; labels: number[]; deltas: number[]; stds: [number, number, number, number]; boxes: number[] };
  average: { logits: number[][]; meanLogits: number[]; probs: number[]; maskLogits: number[][]; maskShape: [number, number, number]; masks: number[] };
};

const f32 = (a: number[]) => Float32Array.from(a);
const coder = (stds: [number, number, number, number]) => ({ means: [0, 0, 0, 0] as [number, number, number, number], stds, whRatioClip: 16 / 1000 });

describe('Cascade R-CNN parity with mmdetection (torch fixtures)', () => {
  const { chain } = fx;
  const C = chain.numClasses;
  const metas = chain.images.map((im, i) => imageMeta({ imageId: i + 1, w: im.width, h: im.height }));
  const targets = chain.images.map((im) => ({ boxes: f32(im.gtBoxes), labels: Int32Array.from(im.gtLabels) }));

  it('per-stage targets: IoU threshold and stds of each stage', () => {
    chain.stages.forEach((st, s) => {
      const sampled = sampleRois(
        st.proposals.map(f32),
        metas,
        targets,
        {
          numClasses: C,
          assigner: { posIouThr: chain.thrs[s]!, negIouThr: chain.thrs[s]!, minPosIou: chain.thrs[s]!, matchLowQuality: false, gtMaxAssignAll: true, ignoreIofThr: -1 },
          sampler: { num: 100_000, posFraction: 0.5, negPosUb: -1, addGtAsProposals: true },
          coder: coder(chain.stds[s]!),
        },
        new Rng(0),
      );
      expect(sampled.numPos, `stage ${s} positives`).toEqual(st.numPos);
      expect(sampled.numNeg, `stage ${s} negatives`).toEqual(st.numNeg);
      expect(Array.from(sampled.labels), `stage ${s} labels`).toEqual(st.labels.flat());
      expect(Array.from(sampled.mask.isGt), `stage ${s} GT flags`).toEqual(st.isGt.flat());
      expectClose(sampled.boxes, st.rois.flat(), { atol: 0 }, `stage ${s} RoIs`);
      expectClose(sampled.deltas, st.deltas.flat(), { atol: 2e-5 }, `stage ${s} deltas (stds ${chain.stds[s]})`);
      if (st.refined) {
        const refined = refineSampledRois(sampled, f32(st.logits), f32(st.regDeltas), C, metas, coder(chain.stds[s]!));
        refined.forEach((r, i) => {
          expect(r.length, `stage ${s} image ${i}: refined count (GT rows dropped)`).toBe(st.refined![i]!.length);
          expectClose(r, st.refined![i]!, { atol: 1e-4 }, `stage ${s} image ${i} refined boxes`);
        });
        // the next stage's fixture proposals are these refined boxes
        expect(chain.stages[s + 1]!.proposals).toEqual(st.refined);
      }
    });
  });

  it('regress_by_class with class-specific deltas (gather by label, decode, clip)', () => {
    const c = fx.classSpecific;
    const out = regressByClass(f32(c.rois), Int32Array.from(c.labels), f32(c.deltas), C, imageMeta({ w: c.width, h: c.height }), coder(c.stds));
    expectClose(out, c.boxes, { atol: 1e-4 }, 'class-specific refinement');
    expect(Math.max(...Array.from(out).filter((_, j) => j % 2 === 0))).toBeLessThanOrEqual(c.width);
  });

  it('averages the stages: logits then softmax, mask sigmoids then mean', () => {
    const a = fx.average;
    const mean = averageStageScores(a.logits.map(f32));
    expectClose(mean, a.meanLogits, { atol: 1e-6 }, 'mean logits');
    expectClose(softmaxRows(mean, C + 1), a.probs, { atol: 1e-6 }, 'softmax of the mean');
    const sig = a.maskLogits.map((m) => tf.tidy(() => tf.sigmoid(tf.tensor(m)).dataSync() as Float32Array));
    expectClose(averageStageMasks(sig), a.masks, { atol: 1e-6 }, 'merged masks');
  });
});
