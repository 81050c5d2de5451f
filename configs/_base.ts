/**
 * The experiment config type and the building blocks every config file uses — mmdetection's `_base_/` files
 * (datasets/coco_detection.py, schedules/schedule_2x.py, default_runtime.py) as typed TS values.
 *
 * A config file (configs/<name>.ts) default-exports an `ExperimentConfig`:
 *
 *   model  a factory `(ctx) => Detector` that imports what it builds (no string registry); `ctx.seed` seeds the
 *          initialisation, `ctx.test` carries the test-time settings (score threshold, NMS, max per image) so the
 *          factory hands them to the detector's own config.
 *   data   dataset paths (COCO annotation file + image folder per split), the keep-ratio resize scale, flip
 *          probability, batch size, data workers, mmdetection's dataset filters, normalisation.
 *   train  the optimiser (SGD momentum / weight decay), the schedule (lr, epochs, step milestones, linear warm-up:
 *          mmdetection's 2x by default, see src/train/lr-schedule.ts), auto-scale-lr, gradient accumulation and
 *          clipping, checkpoints (keep-last-N, save-best), evaluation and logging intervals, the seed.
 *   test   detections per image and thresholds, the test batch size.
 *
 * Everything but `model` is plain JSON data, so `--cfg-options a.b=c` can override any field (configs/_options.ts)
 * and the resolved config is written next to the checkpoints (configs/load.ts).
 *
 * Helpers: `cocoData()` (COCO 2017 under data/coco by default), `syntheticData()` (the synthetic occlusion set
 * written by `tiedet make-synthetic`), `trainSchedule()` (SGD + a schedule preset of lr-schedule.ts). Paths are
 * relative to the working directory, as mmdetection's `data_root`.
 */
import type { Detector, TestSettings } from '../detectors/detector.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms/normalize.js';
import { schedule1x, schedule20e, schedule2x, type LrSchedule } from '../src/train/lr-schedule.js';

/** One split of a COCO-format dataset. */
export interface DatasetSplitConfig {
  /** COCO instances JSON. */
  annFile: string;
  /** Folder the images' `file_name`s are relative to. */
  imageDir: string;
}

export interface DataConfig {
  train: DatasetSplitConfig;
  val: DatasetSplitConfig;
  /** Keep-ratio resize limits [long side, short side] (mmdet `scale=(1333, 800)`). */
  scale: [number, number];
  /** Horizontal flip probability during training (mmdet `RandomFlip(prob=0.5)`). */
  flipProb: number;
  /** Pad every batch to a multiple of this (mmdet `pad_size_divisor`). */
  sizeDivisor: number;
  /** Images per micro-batch (the effective batch is `batchSize · train.accumulate`). */
  batchSize: number;
  /** Data worker threads (0 = decode in the main thread). */
  workers: number;
  /** Batches prepared ahead. */
  prefetch: number;
  /** Training filters (mmdet `filter_cfg`): drop images without a usable box / with a shorter side below minSize. */
  filterEmptyGt: boolean;
  minSize: number;
  /** Instance masks in the targets (Mask R-CNN). */
  withMasks: boolean;
  /** `'error'`: a bad record or image stops the run naming file, record and field; `'skip'`: counted and reported. */
  onBad: 'error' | 'skip';
  /** Per-channel RGB normalisation (ImageNet's, in 0–255 units). */
  mean: [number, number, number];
  std: [number, number, number];
}

export interface CheckpointConfig {
  /** Save at the end of every N-th epoch (0: only at the end and when stopped). */
  everyEpochs: number;
  /** Also save every N iterations (0: off). */
  everyIterations: number;
  /** Periodic checkpoints kept. */
  keepLast: number;
  /** Keep the checkpoint with the best value of this evaluation metric ('' = off), e.g. 'bbox_mAP'. */
  best: string;
}

export interface TrainConfig {
  /**
   * 'SGD' (the paper's and mmdetection's COCO schedules: momentum, coupled L2 weight decay) or 'AdamW' (decoupled
   * weight decay; faster from scratch, used by the synthetic demo presets). src/train/sgd.ts, adamw.ts.
   */
  optimizer: 'SGD' | 'AdamW';
  /** Learning rate after warm-up for the effective batch `baseBatchSize` (see `autoScaleLr`). */
  lr: number;
  /** SGD momentum (ignored by AdamW). */
  momentum: number;
  /** SGD: L2 added to the gradient; AdamW: decoupled decay p ← p·(1 − lr·wd). */
  weightDecay: number;
  /** AdamW (β₁, β₂) (ignored by SGD). */
  betas: [number, number];
  /** AdamW ε (ignored by SGD). */
  eps: number;
  epochs: number;
  /** 0-based epochs at which the lr is multiplied by `gamma` (2x: [16, 22]). */
  milestones: number[];
  gamma: number;
  /** Linear warm-up over this many iterations (0: none). */
  warmupIters: number;
  /** Warm-up start factor (mmdet 0.001). */
  warmupRatio: number;
  /** Scale `lr` linearly by effective batch / `baseBatchSize` (mmdet `auto_scale_lr`; `--auto-scale-lr`). */
  autoScaleLr: boolean;
  /** The batch `lr` was tuned for (mmdet: 16). */
  baseBatchSize: number;
  /** Micro-batches per optimizer update (gradient accumulation). */
  accumulate: number;
  /** Clip the gradient norm to this (0: no clipping); torch `clip_grad_norm_`. */
  clipGrad: number;
  checkpoint: CheckpointConfig;
  /** Evaluate on data.val during training. */
  validate: boolean;
  /** Evaluate every N iterations; 0: at the end of every `evalEveryEpochs`-th epoch. */
  evalEvery: number;
  evalEveryEpochs: number;
  /** Metrics computed during training. */
  evalMetrics: Array<'bbox' | 'segm'>;
  /** Write a log line every N iterations. */
  logEvery: number;
  /** Consecutive NaN/Inf steps before the run stops. */
  maxNanSteps: number;
  /** Seeds the model initialisation, data order and augmentation (`--seed`). */
  seed: number;
  /**
   * Backbone weights to start from: a safetensors file in torchvision names and layout (README "Loading PyTorch
   * weights"; a classifier head in the file is ignored). '' = random initialisation.
   */
  pretrained: string;
}

/** Test settings: the detector's (`TestSettings`: score threshold, NMS IoU, detections per image), passed to the
 * model factory whole, and the inference batch size. */
export interface TestConfig extends TestSettings {
  /** Images per inference batch. */
  batchSize: number;
}

/** What a model factory receives. */
export interface ModelContext {
  seed: number;
  test: TestConfig;
  /**
   * The number of object classes the detector predicts: the config's `numClasses` when it pins one, else the
   * number of categories of the training (or, for testing, the validation) annotation file.
   */
  numClasses: number;
}

/** `numClasses` of a config: a number pins it; 'auto' follows the dataset's categories. */
export type NumClasses = number | 'auto';

export interface ExperimentConfig {
  /** Builds the detector (called once per run; the caller disposes it). */
  model: (ctx: ModelContext) => Detector;
  /**
   * Classes the detector predicts (default 'auto': as many as the dataset's categories, so the same config trains
   * on any COCO-format set). A number pins it: a dataset with another category count is then an error naming both.
   * `--cfg-options numClasses=8` sets it.
   */
  numClasses?: NumClasses;
  data: DataConfig;
  train: TrainConfig;
  test: TestConfig;
}

/** The JSON part of a config (everything but the factory). */
export type ConfigData = Omit<ExperimentConfig, 'model'>;

/** Data settings shared by every dataset helper (mmdetection's coco_detection.py). */
function dataDefaults(): Omit<DataConfig, 'train' | 'val'> {
  return {
    scale: [1333, 800],
    flipProb: 0.5,
    sizeDivisor: 32,
    batchSize: 2,
    workers: 2,
    prefetch: 2,
    filterEmptyGt: true,
    minSize: 32,
    withMasks: false,
    onBad: 'error',
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
  };
}

/**
 * COCO 2017 at `root` (default data/coco: annotations/instances_{train,val}2017.json, train2017/, val2017/), as
 * mmdetection's `data_root = 'data/coco/'`. Point it elsewhere with
 * `--cfg-options data.train.annFile=… data.train.imageDir=… data.val.annFile=… data.val.imageDir=…`.
 */
export function cocoData(overrides: Partial<DataConfig> & { root?: string } = {}): DataConfig {
  const { root = 'data/coco', ...rest } = overrides;
  return {
    train: { annFile: `${root}/annotations/instances_train2017.json`, imageDir: `${root}/train2017` },
    val: { annFile: `${root}/annotations/instances_val2017.json`, imageDir: `${root}/val2017` },
    ...dataDefaults(),
    ...rest,
  };
}

/** The synthetic occlusion set as `tiedet make-synthetic --out root` writes it (train/ and val/ splits). */
export function syntheticData(root: string, overrides: Partial<DataConfig> = {}): DataConfig {
  return {
    train: { annFile: `${root}/annotations/instances_train.json`, imageDir: `${root}/train` },
    val: { annFile: `${root}/annotations/instances_val.json`, imageDir: `${root}/val` },
    ...dataDefaults(),
    ...overrides,
  };
}

export type SchedulePreset = '1x' | '2x' | '20e';

const PRESETS: Record<SchedulePreset, (o: { lr: number }) => LrSchedule> = { '1x': schedule1x, '2x': schedule2x, '20e': schedule20e };

/**
 * Training settings from an mmdetection schedule preset (epochs and milestones from src/train/lr-schedule.ts;
 * warm-up 500 iterations from 0.001; SGD momentum 0.9, weight decay 1e-4) for the given base lr (per
 * `baseBatchSize` = 16 images), plus mmdetection's runtime defaults; `overrides` replace any field.
 */
export function trainSchedule(preset: SchedulePreset, lr: number, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const s = PRESETS[preset]({ lr });
  return {
    optimizer: 'SGD',
    lr,
    momentum: 0.9,
    weightDecay: 1e-4,
    betas: [0.9, 0.999],
    eps: 1e-8,
    epochs: s.epochs,
    milestones: [...s.milestones],
    gamma: s.gamma,
    warmupIters: s.warmup ? s.warmup.end : 0,
    warmupRatio: s.warmup ? s.warmup.startFactor : 0.001,
    autoScaleLr: false,
    baseBatchSize: 16,
    accumulate: 1,
    clipGrad: 0,
    checkpoint: { everyEpochs: 1, everyIterations: 0, keepLast: 3, best: 'bbox_mAP' },
    validate: true,
    evalEvery: 0,
    evalEveryEpochs: 1,
    evalMetrics: ['bbox'],
    logEvery: 50,
    maxNanSteps: 10,
    seed: 0,
    pretrained: '',
    ...overrides,
  };
}

/** mmdetection's test settings (RetinaNet and Mask R-CNN: score > 0.05, NMS 0.5, 100 per image). */
export function testDefaults(overrides: Partial<TestConfig> = {}): TestConfig {
  return { batchSize: 1, scoreThr: 0.05, nmsIouThr: 0.5, maxPerImg: 100, ...overrides };
}

/** Identity with a type check, so a config file reads `export default defineConfig({ … })`. */
export function defineConfig(config: ExperimentConfig): ExperimentConfig {
  return config;
}
