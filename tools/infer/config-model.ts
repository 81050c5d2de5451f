/**
 * `tiedet infer --config NAME --weights W`: one of tiedet's own configs (configs/, mmdetection semantics) as infer's
 * model. Images go through the config's test transform (data/pipeline.ts `transformSample`: keep-ratio resize to
 * `data.scale`, normalisation with `data.mean` / `data.std`, padding to `data.sizeDivisor`), weights load strictly
 * by tiedet's (mmdetection's) key names from a safetensors file (src/io/weights-file.ts), and labels map to the
 * category ids of the config's `data.val.annFile` (sorted ids, as the dataset reader) — or, when that file is
 * absent and the model has 80 classes, to COCO's 80 ids.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { LoadedConfig } from '../../configs/load.js';
import { transformSample } from '../../data/pipeline.js';
import { batchPadSize, padSize } from '../../data/transforms/pad.js';
import { rescaleSize } from '../../data/transforms/resize.js';
import type { Detector } from '../../detectors/detector.js';
import { cocoCategories } from '../../detectors/torchvision/labels.js';
import { loadTorchState } from '../../src/io/torch-weights.js';
import { readWeightsFile } from '../../src/io/weights-file.js';
import type { InferModel } from './run.js';

function categoriesOf(cfg: LoadedConfig, numClasses: number): { id: number; name: string }[] {
  const ann = cfg.data.data.val.annFile;
  if (existsSync(ann)) {
    const json = JSON.parse(readFileSync(ann, 'utf8')) as { categories?: { id: number; name: string }[] };
    const cats = [...(json.categories ?? [])].sort((a, b) => a.id - b.id).map((c) => ({ id: c.id, name: c.name }));
    if (cats.length !== numClasses) throw new Error(`${ann}: ${cats.length} categories but the model of ${cfg.name} has ${numClasses} classes`);
    return cats;
  }
  if (numClasses === 80) return cocoCategories();
  throw new Error(`${cfg.name}: data.val.annFile ${ann} does not exist, so the category ids of its ${numClasses} classes are unknown (--cfg-options data.val.annFile=…)`);
}

export function configInferModel(cfg: LoadedConfig, model: Detector, weights: string): InferModel {
  loadTorchState(model, { file: weights, ...readWeightsFile(weights) });
  const categories = categoriesOf(cfg, model.numClasses);
  const d = cfg.data.data;
  return {
    prepare: (images) => {
      const pad = batchPadSize(
        images.map((im) => {
          const r = rescaleSize(im.width, im.height, d.scale);
          return padSize(r.width, r.height, d.sizeDivisor);
        }),
        d.sizeDivisor,
      );
      const samples = images.map((im) =>
        transformSample(
          {
            imageId: im.imageId,
            file: im.file,
            width: im.width,
            height: im.height,
            boxes: new Float32Array(0),
            labels: new Int32Array(0),
            ignoreBoxes: new Float32Array(0),
            segmentations: null,
            flip: false,
            scale: d.scale,
            padSize: { width: pad.width, height: pad.height },
            mean: d.mean,
            std: d.std,
            maxPixels: Infinity,
          },
          im,
        ),
      );
      const data = new Float32Array(samples.length * pad.width * pad.height * 3);
      samples.forEach((s, i) => data.set(s.image, i * pad.width * pad.height * 3));
      return { images: tf.tensor4d(data, [samples.length, pad.height, pad.width, 3], 'float32'), metas: samples.map((s) => s.meta) };
    },
    predict: (batch) => model.predict(batch),
    categoryOf: (label) => categories[label]?.id ?? null,
    categories,
    get training() {
      return model.training;
    },
    train: (on) => model.train(on),
  };
}
