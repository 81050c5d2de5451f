/**
 * Batches for training and testing: seeded shuffling, aspect-ratio grouping, per-sample transforms in-process or
 * in worker threads with a bounded prefetch queue, and NHWC float32 TF.js batch tensors with typed targets.
 *
 * Behaviour matched (mmdetection 3.x):
 * - Sampling: `DefaultSampler(shuffle=True)` with a seed per epoch, then `AspectRatioBatchSampler`: indices are
 *   put into two buckets (w < h, w ≥ h) and a batch is emitted whenever a bucket is full; at the end of the epoch
 *   the leftovers (portrait bucket first) are emitted in batches of `batchSize` (the last one shorter unless
 *   `dropLast`).
 * - `RandomFlip(prob)`: one decision per sample, drawn on the main thread in epoch order from the seed, so the
 *   same seed gives the same batches with 0, 1 or N workers.
 * - Batch: `DetDataPreprocessor` — every image padded (bottom/right, value 0 after normalisation) to the batch's
 *   largest resized size rounded up to `sizeDivisor`; masks padded the same way.
 *
 * Prefetch: while the consumer works on batch i, batches i+1 … i+prefetch are being prepared (in workers when
 * `workers > 0`, so decoding overlaps compute). Tensor creation happens on the main thread; the caller disposes
 * `batch.images`. With `onBad: 'skip'` a sample whose image file is missing / corrupt / too large / of the wrong
 * size (or whose mask cannot be built) is left out of its batch and counted in `skipped`; otherwise it stops the
 * epoch with an error naming the annotation file, the image record and the field.
 */
import * as tf from '@tensorflow/tfjs';
import { CocoFormatError } from '../eval/coco.js';
import { SegmentationError } from '../src/structures/segmentation.js';
import { imageRecordError, imageSkipReason, type CocoDetectionDataset, type DatasetSample } from './coco-dataset.js';
import { DEFAULT_MAX_PIXELS, ImageError } from './image.js';
import type { ImageMeta, Size } from './meta.js';
import { resizedSizeOf, runSample, type SampleResult, type SampleTask } from './pipeline.js';
import { Rng } from '../src/nn/rng.js';
import { SkipLog, type OnBad, type SkipSummary } from './skip.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './transforms/normalize.js';
import { batchPadSize } from './transforms/pad.js';
import { DEFAULT_SCALE } from './transforms/resize.js';
import { WorkerPool } from './worker-pool.js';

export interface LoaderOptions {
  /** Images per batch (default 2, mmdet's per-GPU batch). */
  batchSize?: number;
  /** Shuffle every epoch (default: true for a training dataset, false for a test one). */
  shuffle?: boolean;
  /** Seed of the shuffling and flip decisions (default 0). */
  seed?: number;
  /** Probability of a horizontal flip (default: 0.5 for a training dataset, 0 for a test one). */
  flipProb?: number;
  /** Keep-ratio resize scale (default [1333, 800]). */
  scale?: readonly [number, number];
  /** Pad the batch to multiples of this (default 32). */
  sizeDivisor?: number;
  /** Batch images of the same orientation together (default true). */
  groupByAspectRatio?: boolean;
  /** Drop a last, incomplete batch (default false). */
  dropLast?: boolean;
  /** Produce mask bitmaps (default: when the dataset was loaded `withMasks`). */
  withMasks?: boolean;
  /** Worker threads for decoding and transforms; 0 = in-process (default 0). */
  workers?: number;
  /** Batches prepared ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** `'error'` (default) or `'skip'` samples whose image or mask cannot be read. */
  onBad?: OnBad;
  /** Largest image accepted (width × height, checked on the header), default 100 MP. */
  maxPixels?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

/** One sample of a planned batch. */
export interface PlanItem {
  /** Index into `dataset.samples`. */
  index: number;
  flip: boolean;
}

export interface BatchPlan {
  items: PlanItem[];
  /** Spatial size of the batch tensor. */
  padSize: Size;
}

/** Training targets of one image, in network-input pixels. */
export interface Targets {
  /** `[x1, y1, x2, y2]` per object. */
  boxes: Float32Array;
  /** Contiguous label 0..K−1 per object. */
  labels: Int32Array;
  /** Crowd regions `[x1, y1, x2, y2]`. */
  ignoreBoxes: Float32Array;
  /** `n × padHeight × padWidth` 0/1 bitmaps (row-major), or null when masks were not asked for. */
  masks: Uint8Array | null;
}

/** A batch without TF.js: the NHWC float32 data and its shape. */
export interface HostBatch {
  /** Batch number within the epoch (in plan order). */
  index: number;
  data: Float32Array;
  shape: [number, number, number, number];
  targets: Targets[];
  metas: ImageMeta[];
  /** Samples of this batch left out under `onBad: 'skip'`. */
  skipped: number;
}

export interface Batch extends Omit<HostBatch, 'data' | 'shape'> {
  /** `[N, H, W, 3]` float32, normalised and zero-padded. The caller disposes it. */
  images: tf.Tensor4D;
}

type Outcome = { ok: true; result: SampleResult } | { ok: false; error: unknown };

export class DataLoader {
  readonly batchSize: number;
  private readonly opts: Required<Omit<LoaderOptions, 'batchSize'>>;
  private readonly log = new SkipLog();
  private pool: WorkerPool | undefined;

  constructor(
    readonly dataset: CocoDetectionDataset,
    opts: LoaderOptions = {},
  ) {
    const train = dataset.mode === 'train';
    this.batchSize = opts.batchSize ?? 2;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    const workers = opts.workers ?? 0;
    if (!(Number.isInteger(workers) && workers >= 0)) throw new RangeError(`DataLoader: workers must be an integer ≥ 0, got ${workers}`);
    const prefetch = opts.prefetch ?? 2;
    if (!(Number.isInteger(prefetch) && prefetch >= 0)) throw new RangeError(`DataLoader: prefetch must be an integer ≥ 0, got ${prefetch}`);
    const flipProb = opts.flipProb ?? (train ? 0.5 : 0);
    if (!(flipProb >= 0 && flipProb <= 1)) throw new RangeError(`DataLoader: flipProb must be in [0, 1], got ${flipProb}`);
    const withMasks = opts.withMasks ?? dataset.samples.some((s) => s.segmentations !== null);
    if (withMasks && dataset.samples.some((s) => s.segmentations === null)) {
      throw new Error(`DataLoader: masks were asked for but ${dataset.annFile} was loaded without withMasks`);
    }
    this.opts = {
      shuffle: opts.shuffle ?? train,
      seed: opts.seed ?? 0,
      flipProb,
      scale: opts.scale ?? DEFAULT_SCALE,
      sizeDivisor: opts.sizeDivisor ?? 32,
      groupByAspectRatio: opts.groupByAspectRatio ?? true,
      dropLast: opts.dropLast ?? false,
      withMasks,
      workers,
      prefetch,
      onBad: opts.onBad ?? 'error',
      maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
      mean: opts.mean ?? IMAGENET_MEAN,
      std: opts.std ?? IMAGENET_STD,
    };
  }

  /** Samples left out so far under `onBad: 'skip'` (across epochs). */
  get skipped(): SkipSummary {
    return this.log.summary();
  }

  /** The batches of an epoch: which samples, flipped or not, and the padded size. Pure and deterministic. */
  plan(epoch = 0): BatchPlan[] {
    const { shuffle, seed, flipProb, groupByAspectRatio, dropLast, scale, sizeDivisor } = this.opts;
    const samples = this.dataset.samples;
    const rng = new Rng(`tiedet.data:${seed}:${epoch}`);
    const order = samples.map((_, i) => i);
    if (shuffle) rng.shuffle(order);
    const flipRng = rng.split();
    const flips = new Map<number, boolean>();
    for (const i of order) flips.set(i, flipProb > 0 && flipRng.uniform() < flipProb);

    const bs = this.batchSize;
    const groups: number[][] = [];
    if (groupByAspectRatio) {
      const buckets: number[][] = [[], []];
      for (const i of order) {
        const s = samples[i]!;
        const b = buckets[s.width < s.height ? 0 : 1]!;
        b.push(i);
        if (b.length === bs) groups.push(b.splice(0));
      }
      const left = [...buckets[0]!, ...buckets[1]!];
      for (let k = 0; k < left.length; k += bs) groups.push(left.slice(k, k + bs));
    } else {
      for (let k = 0; k < order.length; k += bs) groups.push(order.slice(k, k + bs));
    }
    const kept = dropLast ? groups.filter((g) => g.length === bs) : groups;
    return kept.map((g) => ({
      items: g.map((index) => ({ index, flip: flips.get(index)! })),
      padSize: batchPadSize(
        g.map((i) => resizedSizeOf(samples[i]!.width, samples[i]!.height, scale)),
        sizeDivisor,
      ),
    }));
  }

  /** Number of batches in an epoch. */
  numBatches(epoch = 0): number {
    return this.plan(epoch).length;
  }

  /**
   * The epoch's batches from plan position `start` (0 = all; resuming an epoch prepares none of the batches before
   * it) as TF.js tensors (created on the main thread; dispose `batch.images`).
   */
  async *batches(epoch = 0, start = 0): AsyncGenerator<Batch> {
    for await (const b of this.hostBatches(epoch, start)) {
      const { data, shape, ...rest } = b;
      yield { ...rest, images: tf.tensor4d(data, shape, 'float32') };
    }
  }

  /** The epoch's batches from plan position `start` (0 = all) as plain typed arrays (no TF.js). */
  async *hostBatches(epoch = 0, start = 0): AsyncGenerator<HostBatch> {
    const plans = this.plan(epoch);
    if (!(Number.isInteger(start) && start >= 0 && start <= plans.length)) {
      throw new RangeError(`DataLoader: start must be an integer from 0 to ${plans.length} (the epoch's batches), got ${start}`);
    }
    const inflight: Promise<Outcome>[][] = [];
    let next = start;
    try {
      for (let b = start; b < plans.length; b++) {
        // batch b and the `prefetch` batches after it are in preparation while batch b is consumed
        while (next < plans.length && next <= b + this.opts.prefetch) {
          const plan = plans[next++]!;
          inflight.push(plan.items.map((it) => this.start(this.task(it, plan.padSize))));
        }
        const outcomes = await Promise.all(inflight.shift()!);
        const batch = this.assemble(b, plans[b]!, outcomes);
        if (batch) yield batch;
      }
    } finally {
      // the consumer stopped early or an error was thrown: let the rest finish quietly
      for (const list of inflight) for (const p of list) void p.catch(() => undefined);
    }
  }

  /** Terminates the worker threads (the loader can still be used: they are restarted on demand). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  private task(item: PlanItem, padSize: Size): SampleTask {
    const s = this.dataset.samples[item.index]!;
    const o = this.opts;
    return {
      imageId: s.imageId,
      file: s.file,
      width: s.width,
      height: s.height,
      boxes: s.boxes,
      labels: s.labels,
      ignoreBoxes: s.ignoreBoxes,
      segmentations: o.withMasks ? s.segmentations : null,
      flip: item.flip,
      scale: o.scale,
      padSize,
      mean: o.mean,
      std: o.std,
      maxPixels: o.maxPixels,
    };
  }

  private start(task: SampleTask): Promise<Outcome> {
    let p: Promise<SampleResult>;
    if (this.opts.workers > 0) {
      this.pool ??= new WorkerPool(this.opts.workers);
      p = this.pool.run(task);
    } else {
      p = runSample(task);
    }
    return p.then(
      (result) => ({ ok: true, result }),
      (error: unknown) => ({ ok: false, error }),
    );
  }

  /** Collates one batch; bad samples throw (onBad 'error') or are counted and left out. Null if none is left. */
  private assemble(index: number, plan: BatchPlan, outcomes: Outcome[]): HostBatch | null {
    const good: SampleResult[] = [];
    let skipped = 0;
    outcomes.forEach((o, k) => {
      if (o.ok) return good.push(o.result);
      const sample = this.dataset.samples[plan.items[k]!.index]!;
      const { reason, error } = this.describe(sample, o.error);
      if (this.opts.onBad === 'error' || reason === undefined) throw error;
      this.log.add(reason, error.message);
      skipped++;
    });
    if (good.length === 0) return null;
    const { width: W, height: H } = plan.padSize;
    const plane = W * H * 3;
    const data = new Float32Array(good.length * plane);
    good.forEach((r, i) => data.set(r.image, i * plane));
    return {
      index,
      data,
      shape: [good.length, H, W, 3],
      targets: good.map((r) => ({ boxes: r.boxes, labels: r.labels, ignoreBoxes: r.ignoreBoxes, masks: r.masks })),
      metas: good.map((r) => r.meta),
      skipped,
    };
  }

  /** A sample's failure as an error naming file, record and field; `reason` is set when it may be skipped. */
  private describe(sample: DatasetSample, e: unknown): { reason: string | undefined; error: Error } {
    const annFile = this.dataset.annFile;
    if (e instanceof ImageError) return { reason: imageSkipReason(e), error: imageRecordError(annFile, sample, e) };
    if (e instanceof SegmentationError) {
      const m = /^\[(\d+)\](.*)$/.exec(e.path);
      const k = m ? Number(m[1]) : -1;
      const annId = sample.annIds[k];
      const record = annId === undefined ? `${sample.record} annotation` : `annotation id ${annId} (image ${sample.imageId})`;
      return { reason: 'invalid segmentation', error: new CocoFormatError(annFile, record, `segmentation${m ? m[2] : e.path}`, e.reason) };
    }
    return { reason: undefined, error: e instanceof Error ? e : new Error(String(e)) };
  }
}
