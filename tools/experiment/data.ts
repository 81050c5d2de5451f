/**
 * From a config's `data` section to what `tiedet train` / `tiedet test` consume: the COCO datasets
 * (data/coco-dataset.ts, mmdetection's `CocoDataset` filters), their loaders (data/loader.ts) and the adapter from
 * a loader to the training engine's resumable `TrainData` (src/train/types.ts).
 *
 * Resume: `TrainData.batches(epoch, start)` must yield the epoch's batches from position `start` without preparing
 * the ones before it. The loader's plan of an epoch is pure (seeded order, flips, padded sizes), so
 * `ResumableLoader` serves the plan's tail: it overrides `plan()` for the one call that starts the epoch's
 * generator. The number of batches per epoch is the same every epoch (aspect-ratio grouping only reorders).
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { DataConfig } from '../../configs/_base.js';
import { CocoDetectionDataset } from '../../data/coco-dataset.js';
import { DataLoader, type BatchPlan, type HostBatch, type LoaderOptions } from '../../data/loader.js';
import type { DetectionBatch } from '../../detectors/detector.js';
import type { Targets } from '../../data/loader.js';
import type { TrainData } from '../../src/train/types.js';

/** A detection batch as the loader makes it (targets carry masks when asked for). */
export type LoaderBatch = DetectionBatch<Targets>;

/** A DataLoader whose epochs can start at a batch position (see the file comment). */
export class ResumableLoader extends DataLoader {
  private skip = 0;

  override plan(epoch = 0): BatchPlan[] {
    const all = super.plan(epoch);
    return this.skip > 0 ? all.slice(this.skip) : all;
  }

  /** The epoch's host batches from position `start` (0 = all). */
  async *hostBatchesFrom(epoch: number, start: number): AsyncGenerator<HostBatch> {
    const it = this.hostBatches(epoch);
    // The generator computes its plan synchronously inside the first next(): the skip applies to that call only.
    this.skip = start;
    let first: Promise<IteratorResult<HostBatch>>;
    try {
      first = it.next();
    } finally {
      this.skip = 0;
    }
    try {
      let r = await first;
      while (!r.done) {
        yield r.value;
        r = await it.next();
      }
    } finally {
      await it.return(undefined);
    }
  }
}

/** A dataset path of the config that does not exist (the message says how to get the data or point elsewhere). */
export class DatasetPathError extends Error {
  constructor(field: string, path: string) {
    super(
      `data.${field}: ${path} does not exist (synthetic configs: \`tiedet make-synthetic --preset tiny --out work_dirs/synthetic-tiny\`; ` +
        `other data: --cfg-options data.${field}=…)`,
    );
    this.name = 'DatasetPathError';
  }
}

export function loadDataset(data: DataConfig, split: 'train' | 'val', mode: 'train' | 'test'): Promise<CocoDetectionDataset> {
  const s = data[split];
  if (!existsSync(s.annFile)) throw new DatasetPathError(`${split}.annFile`, s.annFile);
  if (!existsSync(s.imageDir)) throw new DatasetPathError(`${split}.imageDir`, s.imageDir);
  return CocoDetectionDataset.load(s.annFile, {
    imageDir: s.imageDir,
    mode,
    minSize: data.minSize,
    filterEmptyGt: data.filterEmptyGt,
    withMasks: data.withMasks,
    onBad: data.onBad,
  });
}

/** Loader options of a config for training (shuffled, flipped) or testing (file order, no flip). */
export function loaderOptions(data: DataConfig, purpose: 'train' | 'test', seed: number, testBatchSize?: number): LoaderOptions {
  const train = purpose === 'train';
  return {
    batchSize: train ? data.batchSize : (testBatchSize ?? 1),
    shuffle: train,
    seed,
    flipProb: train ? data.flipProb : 0,
    scale: data.scale,
    sizeDivisor: data.sizeDivisor,
    groupByAspectRatio: train,
    workers: data.workers,
    prefetch: data.prefetch,
    onBad: data.onBad,
    withMasks: data.withMasks,
    mean: data.mean,
    std: data.std,
  };
}

/** Host batch → the detector's batch (the image tensor is created here; `disposeBatch` frees it). */
export function toDetectionBatch(b: HostBatch): LoaderBatch {
  return { images: tf.tensor4d(b.data, b.shape, 'float32'), metas: b.metas, targets: b.targets };
}

/** The loader as the training engine's resumable data source. */
export function loaderTrainData(loader: ResumableLoader): TrainData<LoaderBatch> {
  const batchesPerEpoch = loader.numBatches(0);
  return {
    batchesPerEpoch,
    async *batches(epoch: number, start: number): AsyncGenerator<LoaderBatch> {
      let expected = start;
      for await (const b of loader.hostBatchesFrom(epoch, start)) {
        if (b.index + start !== expected) {
          // a whole batch was left out under onBad 'skip': the epoch would be shorter than the schedule assumes
          throw new Error(
            `data: every image of batch ${expected + 1} of epoch ${epoch + 1} was skipped as bad (data.onBad 'skip'); ` +
              'remove the bad records from the annotation file or use a larger data.batchSize',
          );
        }
        expected++;
        yield toDetectionBatch(b);
      }
    },
    disposeBatch: (b) => b.images.dispose(),
  };
}
