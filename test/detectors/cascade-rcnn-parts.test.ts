/**
 * Cascade (Mask) R-CNN's wiring: mmdetection's state-dict keys (`roi_head.bbox_head.{i}`, `roi_head.mask_head.{i}`,
 * class-agnostic fc_reg), the per-stage config lists and their one error, the loss keys and stage weights, the
 * refinement between training stages (GT rows dropped, boxes inside the image), and a flat tensor count over
 * training steps and predictions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CascadeRCNN } from '../../detectors/cascade-rcnn/cascade-rcnn.js';
import { CASCADE_RCNN_BOX_ONLY, CASCADE_RCNN_TINY, cascadeRcnnConfig } from '../../detectors/cascade-rcnn/config.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { saveTorchWeights } from '../../src/io/torch-weights.js';
import { loadWeightsInto } from '../../src/io/weights.js';
import { SGD } from '../../src/train/sgd.js';
import { trackTensors } from '../nn/helpers.js';
import { maskScenes } from './mask-rcnn-scenes.js';

trackTensors('test');

const tiny = (withMask = true) =>
  new CascadeRCNN({
    backbone: tiedResNetTiny({ numClasses: null, frozenStages: -1, normEval: false, seed: 1 }),
    config: cascadeRcnnConfig(CASCADE_RCNN_TINY, { numClasses: 3 }, withMask ? {} : CASCADE_RCNN_BOX_ONLY),
    seed: 2,
  });

describe('Cascade R-CNN config', () => {
  it("has mmdetection's defaults", () => {
    const c = cascadeRcnnConfig();
    expect(c.model.roiHead).toEqual({ numStages: 3, stageLossWeights: [1, 0.5, 0.25] });
    expect(c.train.rcnn.stageIouThrs).toEqual([0.5, 0.6, 0.7]);
    expect(c.model.bboxHead.stageStds).toEqual([
      [0.1, 0.1, 0.2, 0.2],
      [0.05, 0.05, 0.1, 0.1],
      [0.033, 0.033, 0.067, 0.067],
    ]);
    expect(c.model.bboxHead.regClassAgnostic).toBe(true);
    expect(c.model.rpnHead.loss.bboxBeta).toBeCloseTo(1 / 9, 12);
    expect(c.train.rpnProposal.maxPerImg).toBe(2000);
    expect(c.train.rcnn.assigner.matchLowQuality).toBe(false);
  });

  it('rejects a stage count that does not match the per-stage lists, naming every key', () => {
    expect(() => cascadeRcnnConfig({ model: { roiHead: { numStages: 2 } } })).toThrow(
      /numStages is 2 but model\.roiHead\.stageLossWeights has 3, model\.bboxHead\.stageStds has 3, train\.rcnn\.stageIouThrs has 3/,
    );
    expect(() => cascadeRcnnConfig({ train: { rcnn: { stageIouThrs: [0.5, 0.6] } } })).toThrow(/numStages is 3 but train\.rcnn\.stageIouThrs has 2 \(/);
    // a consistent 2-stage cascade is fine
    const two = cascadeRcnnConfig({
      model: { roiHead: { numStages: 2, stageLossWeights: [1, 0.5] }, bboxHead: { stageStds: [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1]] } },
      train: { rcnn: { stageIouThrs: [0.5, 0.6] } },
    });
    expect(two.model.roiHead.numStages).toBe(2);
  });
});

describe('CascadeRCNN', () => {
  it("names its parameters as mmdetection's CascadeRoIHead (class-agnostic fc_reg)", () => {
    const model = tiny();
    const box = tiny(false);
    try {
      const shapes = new Map(model.namedParameters().map(([n, v]) => [n, v.shape]));
      for (let i = 0; i < 3; i++) {
        expect(shapes.get(`roi_head.bbox_head.${i}.fc_cls.weight`)).toEqual([128, 4]);
        expect(shapes.get(`roi_head.bbox_head.${i}.fc_reg.weight`)).toEqual([128, 4]);
        expect(shapes.has(`roi_head.bbox_head.${i}.shared_fcs.1.weight`)).toBe(true);
        expect(shapes.has(`roi_head.mask_head.${i}.conv_logits.weight`)).toBe(true);
        expect(shapes.has(`roi_head.mask_head.${i}.upsample.weight`)).toBe(true);
      }
      expect(shapes.has('roi_head.bbox_head.3.fc_cls.weight')).toBe(false);
      expect(shapes.has('rpn_head.rpn_conv.weight')).toBe(true);
      const boxNames = box.namedParameters().map(([n]) => n);
      expect(boxNames.some((n) => n.includes('mask_head'))).toBe(false);
      expect(boxNames.filter((n) => n.startsWith('roi_head.bbox_head.2.')).length).toBe(8);
    } finally {
      model.dispose();
      box.dispose();
    }
  });

  it('round-trips through a PyTorch-layout file under mmdetection names (strict load)', () => {
    const a = tiny();
    const b = new CascadeRCNN({
      backbone: tiedResNetTiny({ numClasses: null, frozenStages: -1, normEval: false, seed: 5 }),
      config: cascadeRcnnConfig(CASCADE_RCNN_TINY, { numClasses: 3 }),
      seed: 6,
    });
    const dir = mkdtempSync(join(tmpdir(), 'tiedet-cascade-'));
    try {
      const file = join(dir, 'cascade.safetensors');
      saveTorchWeights(a, file);
      const st = readSafetensors(file).tensors;
      expect(st.get('roi_head.bbox_head.0.fc_cls.weight')?.shape).toEqual([4, 128]); // torch Linear [out, in]
      expect(st.get('roi_head.bbox_head.2.fc_reg.weight')?.shape).toEqual([4, 128]);
      expect(st.get('roi_head.mask_head.2.conv_logits.weight')?.shape).toEqual([3, 32, 1, 1]); // torch conv OIHW
      const r = loadWeightsInto(b, file, { strict: true });
      expect(r.loadedKeys.length).toBe(st.size);
      const va = new Map(a.namedParameters().map(([n, v]) => [n, v]));
      for (const [n, v] of b.namedParameters()) expect(Array.from(v.dataSync()), n).toEqual(Array.from(va.get(n)!.dataSync()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      a.dispose();
      b.dispose();
    }
  });

  it('trains stage by stage: weighted keys, refined proposals without GT rows, flat tensors; predictAsync = predict', { timeout: 120_000 }, async () => {
    const scenes = maskScenes({ count: 2, size: 64, original: 128, seed: 3, objects: [1, 2], sides: [40, 80] });
    const batch = scenes.batch(false);
    const model = tiny();
    model.roiHead.trace = [];
    const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.01, momentum: 0.9 });
    const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
    try {
      const counts: number[] = [];
      let keys: string[] = [];
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.variableGrads(() => {
          const l = model.loss(batch);
          keys = Object.keys(l);
          return tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
        }, model.trainableVariables());
        sgd.step(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
        tf.dispose([value, ...Object.values(grads)]);
        counts.push(tf.memory().numTensors - model.numDerivedTensors());
      }
      expect(keys.sort()).toEqual(
        ['loss_rpn_bbox', 'loss_rpn_cls', ...[0, 1, 2].flatMap((i) => [`s${i}.acc`, `s${i}.loss_bbox`, `s${i}.loss_cls`, `s${i}.loss_mask`])].sort(),
      );
      const trace = model.roiHead.trace!;
      expect(trace.length).toBe(9); // 3 steps × 3 stages
      for (let k = 0; k < trace.length; k++) {
        const t = trace[k]!;
        const stage = k % 3;
        if (stage === 2) {
          expect(t.refined).toBeUndefined();
          continue;
        }
        const s = t.sampled;
        batch.metas.forEach((meta, i) => {
          const gtRows = s.mask.isGt.subarray(s.numPos.slice(0, i).reduce((a, b) => a + b, 0), s.numPos.slice(0, i + 1).reduce((a, b) => a + b, 0));
          const numGt = gtRows.reduce((a, b) => a + b, 0);
          // every GT is a proposal of itself (add_gt_as_proposals), and refinement drops those rows
          expect(numGt).toBe(batch.targets![i]!.labels.length);
          const r = t.refined![i]!;
          expect(r.length / 4).toBe(s.numPos[i]! + s.numNeg[i]! - numGt);
          for (let j = 0; j < r.length; j += 4) {
            expect(r[j]!).toBeGreaterThanOrEqual(0);
            expect(r[j + 2]!).toBeLessThanOrEqual(meta.resizedSize.width);
            expect(r[j + 3]!).toBeLessThanOrEqual(meta.resizedSize.height);
          }
        });
      }
      model.roiHead.trace = null;
      model.eval();
      model.config.test.rcnn.scoreThr = 0; // an untrained model: keep every (RoI, class) so masks are exercised
      for (let k = 0; k < 2; k++) {
        const dets = model.predict(batch);
        expect(dets.length).toBe(2);
        for (const d of dets) expect(d.masks?.length).toBe(d.labels.length);
        expect(dets.reduce((a, d) => a + d.labels.length, 0)).toBeGreaterThan(0);
        const again = await model.predictAsync(batch);
        expect(again).toEqual(dets);
        counts.push(tf.memory().numTensors - model.numDerivedTensors());
      }
      expect(new Set(counts).size, `tensor counts: ${counts.join(', ')}`).toBe(1);
    } finally {
      tf.dispose(batch.images);
      sgd.dispose();
      model.dispose();
    }
  });
});
