/**
 * From a config's `data` section to what `tiedet train` / `tiedet test` consume: the COCO datasets
 * (data/coco-dataset.ts, mmdetection's `CocoDataset` filters), their loaders' options (data/loader.ts) and the
 * adapter from a loader to the training engine's resumable `TrainData` (src/train/types.ts).
 *
 * Resume: `TrainData.batches(epoch, start)` must yield the epoch's batches from position `start` without preparing
 * the ones before it: the loader's `batches(epoch, start)` does (its plan of an epoch is pure: seeded order, flips,
 * padded sizes). The number of batches per epoch is the same every epoch (aspect-ratio grouping only reorders).
 */
import { existsSync } from 'node:fs';
import type { DataConfig } from '../../configs/_base.js';
import { CocoDetectionDataset } from '../../data/coco-dataset.js';
import type { Batch, DataLoader, LoaderOptions } from '../../data/loader.js';
import type { TrainData } from '../../src/train/types.js';

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

/** The loader as the training engine's resumable data source. */
export function loaderTrainData(loader: DataLoader): TrainData<Batch> {
  const batchesPerEpoch = loader.numBatches(0);
  return {
    batchesPerEpoch,
    async *batches(epoch: number, start: number): AsyncGenerator<Batch> {
      let expected = start;
      for await (const b of loader.batches(epoch, start)) {
        if (b.index !== expected) {
          // a whole batch was left out under onBad 'skip': the epoch would be shorter than the schedule assumes
          b.images.dispose();
          throw new Error(
            `data: every image of batch ${expected + 1} of epoch ${epoch + 1} was skipped as bad (data.onBad 'skip'); ` +
              'remove the bad records from the annotation file or use a larger data.batchSize',
          );
        }
        expected++;
        yield b;
      }
    },
    disposeBatch: (b) => b.images.dispose(),
  };
}
