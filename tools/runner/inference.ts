/**
 * Inference over a dataset and COCO evaluation of the results — mmdetection's `test_loop` + `CocoMetric`:
 * every image of the loader through `detector.predictAsync` (eval mode, no gradient tape), detections → COCO results
 * (`toCocoResults`, labels mapped back to the dataset's category ids), then `CocoEval` (eval/cocoeval.ts,
 * pycocotools' numbers) per IoU type, with mmdetection's metric names (`bbox_mAP`, `bbox_mAP_50`, `bbox_mAP_75`,
 * `bbox_mAP_s`, `bbox_mAP_m`, `bbox_mAP_l`; `segm_…` for masks).
 *
 * The model is put in eval mode for the pass and its previous mode restored. Tensors: each batch's image tensor is
 * disposed after `predict`, which leaves no tensors behind (detectors/detector.ts).
 */
import type { CocoDataset } from '../../eval/coco.js';
import { CocoEval, type IouType } from '../../eval/cocoeval.js';
import { toCocoResults, type CocoResult, type Detection, type Detector } from '../../detectors/detector.js';
import type { CocoDetectionDataset } from '../../data/coco-dataset.js';
import type { DataLoader } from '../../data/loader.js';
import { webgpuFault } from '../../src/engine/webgpu.js';
import { describeBatch } from '../../src/train/device-fault.js';

export interface PredictProgress {
  done: number;
  total: number;
}

/** Detections of every image the loader yields (epoch 0, file order for a test loader). */
export async function predictDataset(model: Detector, loader: DataLoader, onProgress?: (p: PredictProgress) => void): Promise<Detection[]> {
  const wasTraining = model.training;
  model.train(false);
  const out: Detection[] = [];
  const total = loader.dataset.samples.length;
  try {
    for await (const batch of loader.batches(0)) {
      try {
        out.push(...(await model.predictAsync(batch)));
        const fault = webgpuFault();
        if (fault) throw new Error(`GPU fault during inference on ${describeBatch(batch)}: ${fault}; lower data.batchSize or the input size`);
      } finally {
        batch.images.dispose();
      }
      onProgress?.({ done: out.length, total });
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/** Detections → COCO results with the dataset's category ids. */
export function cocoResults(dataset: CocoDetectionDataset, detections: readonly Detection[]): CocoResult[] {
  return toCocoResults(detections, dataset.catIds);
}

/** mmdetection's names of pycocotools' first six stats. */
export const METRIC_SUFFIXES = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'] as const;

export interface EvaluationResult {
  /** `bbox_mAP`, `bbox_mAP_50`, … per IoU type evaluated. */
  metrics: Record<string, number>;
  /** pycocotools' 12-line summary per IoU type. */
  summaries: Partial<Record<IouType, string[]>>;
  /** The 12 stats per IoU type. */
  stats: Partial<Record<IouType, number[]>>;
}

/**
 * COCO evaluation of `results` against `gt` for each IoU type. segm needs results with masks (an error otherwise,
 * naming the type). Warnings (e.g. a GT id 0) go to `onWarning`.
 */
export function evaluateResults(
  gt: CocoDataset,
  results: readonly CocoResult[],
  iouTypes: readonly IouType[],
  onWarning?: (message: string) => void,
): EvaluationResult {
  const metrics: Record<string, number> = {};
  const summaries: EvaluationResult['summaries'] = {};
  const stats: EvaluationResult['stats'] = {};
  for (const iou of iouTypes) {
    if (iou === 'segm' && results.length > 0 && !results.some((r) => r.segmentation)) {
      throw new Error('segm evaluation: the detector produced no masks (it is a box detector); evaluate bbox only');
    }
    // the same records `tiedet eval` would read from the results file (pycocotools' loadRes semantics)
    const dt = gt.loadRes(results as unknown as unknown[]);
    const E = new CocoEval(gt, dt, iou, { onWarning });
    E.evaluate();
    const s = E.summarize(E.accumulate());
    summaries[iou] = s.lines;
    stats[iou] = s.stats;
    METRIC_SUFFIXES.forEach((suffix, i) => (metrics[`${iou}_${suffix}`] = s.stats[i]!));
  }
  return { metrics, summaries, stats };
}
