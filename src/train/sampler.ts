/**
 * Seeded, resumable data order for training (mmengine's `DefaultSampler`: the order of epoch e is a permutation
 * drawn from a generator seeded with seed + epoch, so it depends only on (seed, epoch) — never on how many epochs
 * this process has run — and a resumed run sees the same order). The permutation is Fisher–Yates with tiedet's
 * xoshiro128** `Rng`, not torch's `randperm`, so orders differ from mmengine's while following the same rules.
 *
 * - `epochOrder(n, seed, epoch)`: the sample indices of an epoch.
 * - `sampleRng(seed, epoch, index)`: an independent stream for one sample's augmentations (random flip …), so
 *   augmentations too depend only on (seed, epoch, index) and survive prefetching and resuming.
 * - `indexedData({ size, batchSize, seed, load })`: a `TrainData` (types.ts) that cuts each epoch's order into
 *   micro-batches and calls `load(indices, epoch)` for each; `batches(epoch, start)` resumes at micro-batch
 *   `start` without loading the ones before it.
 */
import { Rng } from '../nn/rng.js';
import type { TrainData } from './types.js';

/** The 0…n−1 sample order of `epoch` (0-based): shuffled from (seed, epoch), or identity with `shuffle: false`. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`epochOrder: n must be a non-negative integer, got ${n}`);
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffle ? new Rng(`order/${seed}/${epoch}`).shuffle(order) : order;
}

/** An independent generator for the augmentations of sample `index` in `epoch`. */
export function sampleRng(seed: number, epoch: number, index: number): Rng {
  return new Rng(`sample/${seed}/${epoch}/${index}`);
}

export interface IndexedDataOptions<B> {
  /** Number of samples. */
  size: number;
  /** Samples per micro-batch. */
  batchSize: number;
  seed: number;
  /** Default true. */
  shuffle?: boolean;
  /** Drop the last, incomplete micro-batch of each epoch (default false, as PyTorch's DataLoader). */
  dropLast?: boolean;
  /** Build a micro-batch from sample indices. */
  load: (indices: number[], epoch: number) => B | Promise<B>;
  /** Free a batch after use (default: `tf.dispose` of the batch, done by the loop). */
  disposeBatch?: (batch: B) => void;
}

/** A resumable `TrainData` over `size` indexed samples. */
export function indexedData<B>(o: IndexedDataOptions<B>): TrainData<B> {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`indexedData: batchSize must be an integer ≥ 1, got ${o.batchSize}`);
  const shuffle = o.shuffle ?? true;
  const full = Math.floor(o.size / o.batchSize);
  const batchesPerEpoch = o.dropLast || o.size % o.batchSize === 0 ? full : full + 1;
  if (batchesPerEpoch < 1) throw new Error(`indexedData: ${o.size} samples make no batch of ${o.batchSize}`);
  const data: TrainData<B> = {
    batchesPerEpoch,
    batches(epoch: number, start: number): AsyncIterable<B> {
      if (!Number.isInteger(start) || start < 0 || start > batchesPerEpoch) {
        throw new Error(`indexedData: start must be an integer in [0, ${batchesPerEpoch}], got ${start}`);
      }
      const order = epochOrder(o.size, o.seed, epoch, shuffle);
      return (async function* () {
        for (let b = start; b < batchesPerEpoch; b++) {
          yield await o.load(order.slice(b * o.batchSize, (b + 1) * o.batchSize), epoch);
        }
      })();
    },
  };
  if (o.disposeBatch) data.disposeBatch = o.disposeBatch;
  return data;
}
