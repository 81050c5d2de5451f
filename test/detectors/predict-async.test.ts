/**
 * `predictAsync` (the path every backend supports, and the only one on webgpu: asynchronous reads) gives exactly the
 * detections of the synchronous `predict`, for RetinaNet and Mask R-CNN (boxes, scores, labels, RLE masks), and
 * leaves no tensors behind. Tiny untrained models on wasm; RetinaNet keeps every score (scoreThr 0).
 */
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { MASK_RCNN_TINY, maskRcnnConfig } from '../../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { trackTensors } from '../nn/helpers.js';
import { maskScenes } from './mask-rcnn-scenes.js';
import { toyScenes } from './toy-scenes.js';

trackTensors('test');

it('RetinaNet: predictAsync equals predict', async () => {
  const scenes = toyScenes({ count: 2, size: 64, scale: 0.5, seed: 7, objects: [1, 3], sides: [24, 44] });
  const model = new RetinaNet({
    backbone: tiedResNetTiny({ seed: 1, numClasses: null }),
    config: { numClasses: 3, model: { neck: { outChannels: 16 }, head: { featChannels: 16, stackedConvs: 1 } }, test: { scoreThr: 0 } },
    seed: 2,
  });
  model.eval();
  try {
    const sync = model.predict(scenes.batch);
    const asy = await model.predictAsync(scenes.batch);
    expect(sync.reduce((a, d) => a + d.scores.length, 0)).toBeGreaterThan(0);
    expect(asy).toEqual(sync);
  } finally {
    tf.dispose(scenes.batch.images);
    model.dispose();
  }
});

it('Mask R-CNN: predictAsync equals predict (boxes and masks)', async () => {
  const scenes = maskScenes({ count: 2, size: 64, original: 128, seed: 7, objects: [1, 2], sides: [24, 60] });
  const batch = scenes.batch(false);
  const model = new MaskRCNN({ backbone: tiedResNetTiny({ numClasses: null, seed: 1 }), config: maskRcnnConfig(MASK_RCNN_TINY, { numClasses: 3 }), seed: 2 });
  model.eval();
  try {
    const sync = model.predict(batch);
    const asy = await model.predictAsync(batch);
    expect(sync.reduce((a, d) => a + (d.masks?.length ?? 0), 0)).toBeGreaterThan(0);
    expect(asy).toEqual(sync);
  } finally {
    tf.dispose(batch.images);
    model.dispose();
  }
});
