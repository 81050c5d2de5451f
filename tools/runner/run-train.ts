/**
 * One training run of an experiment config — what `tiedet train` and the demo call (mmdetection's
 * tools/train.py + `Runner`): datasets and loaders from `data`, the detector from the `model` factory (optional
 * pretrained backbone), SGD (momentum, weight decay) or AdamW (`train.optimizer`) with the `train` schedule (auto-scaled lr if asked), the
 * training engine (src/train/loop.ts: checkpoints, exact resume, NaN guard, logs, Ctrl-C), evaluation on the val
 * split through eval/ during training (bbox mAP into log.jsonl, save-best), and the resolved config written to
 * `<workDir>/config.json`.
 *
 * Resuming checks the checkpoint's config hash before anything is loaded; when the checkpoint's folder holds the
 * config.json it was written with, the error lists the fields that differ.
 */
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DetectionBatch, Detector } from '../../detectors/detector.js';
import type { TapePhases } from '../../src/engine/async-grads.js';
import { dropClassifier } from '../../src/io/torch-layout.js';
import { formatWeightsReport, loadWeightsInto } from '../../src/io/weights.js';
import { Rng } from '../../src/nn/rng.js';
import { findLatest, readCheckpointState, resolveCheckpointPath } from '../../src/train/checkpoint-state.js';
import { JsonlLogger } from '../../src/train/logger.js';
import { autoScaleLr, type LrSchedule } from '../../src/train/lr-schedule.js';
import { sigintAbort, train, TrainError, type IterationInfo, type TrainResult } from '../../src/train/loop.js';
import type { ProgressStream } from '../../src/train/progress.js';
import { AdamW } from '../../src/train/adamw.js';
import { SGD } from '../../src/train/sgd.js';
import type { AsyncLossFn, Optimizer } from '../../src/train/types.js';
import type { ConfigData } from '../../configs/_base.js';
import {
  buildModel,
  describeModel,
  diffConfigs,
  readResolvedConfig,
  trainingHash,
  trainingSettings,
  writeResolvedConfig,
  type LoadedConfig,
  type ModelDescription,
} from '../../configs/load.js';
import type { IouType } from '../../eval/cocoeval.js';
import { loaderOptions, loaderTrainData, loadDataset } from './data.js';
import { DataLoader } from '../../data/loader.js';
import { cocoResults, evaluateResults, predictDataset } from './inference.js';

export interface TrainExperimentOptions {
  /** Default `work_dirs/<config name>`. */
  workDir?: string;
  /** true: the latest checkpoint of the work dir; a path: that checkpoint (or folder). */
  resume?: boolean | string;
  /** Resume even if the checkpoint was written with another config. */
  allowConfigChange?: boolean;
  /** Stop (with a checkpoint) after this many iterations in total. */
  stopAfter?: number;
  /** Progress bar stream, or false. */
  progress?: ProgressStream | false;
  /** Messages (data summary, where things are). */
  log?: (line: string) => void;
  onIteration?: (info: IterationInfo) => void;
  /** Install the Ctrl-C handler (default true). */
  handleSigint?: boolean;
  /**
   * Initialise the whole detector from PyTorch weights (.pth / .safetensors, mmdetection names) before training —
   * mmdetection's `load_from` for fine-tuning; a resumed checkpoint (`resume`) replaces them.
   */
  weights?: string;
  /** With `weights`: every key must match (default false: a different head is the usual fine-tuning case). */
  strictWeights?: boolean;
}

export interface TrainExperimentResult extends TrainResult {
  workDir: string;
  configFile: string;
  configHash: string;
  model: ModelDescription;
  /** Learning rate used (after auto-scaling). */
  lr: number;
  itersPerEpoch: number;
  totalIters: number;
  /** Wall-clock seconds of this session. */
  seconds: number;
}

/** The schedule of a config (lr already scaled). */
export function scheduleOf(train: ConfigData['train'], lr: number): LrSchedule {
  return {
    baseLr: lr,
    warmup: train.warmupIters > 0 ? { startFactor: train.warmupRatio, begin: 0, end: train.warmupIters } : null,
    milestones: [...train.milestones],
    gamma: train.gamma,
    epochs: train.epochs,
  };
}

/** The learning rate a config trains with: `lr`, linearly scaled to the effective batch when `autoScaleLr`. */
export function effectiveLr(cfg: ConfigData): number {
  const t = cfg.train;
  return t.autoScaleLr ? autoScaleLr(t.lr, t.baseBatchSize, cfg.data.batchSize * t.accumulate) : t.lr;
}

/** Random generators a detector keeps for training (e.g. Mask R-CNN's proposal sampling): checkpointed for resume. */
export function detectorRngs(model: Detector): Record<string, Rng> {
  const out: Record<string, Rng> = {};
  for (const [k, v] of Object.entries(model)) if (v instanceof Rng) out[`model.${k}`] = v;
  return out;
}

/** Before loading a checkpoint: its config hash must match (unless allowed); the message lists what differs. */
export function checkResumeConfig(
  resume: boolean | string,
  workDir: string,
  configHash: string,
  current: ConfigData,
  model: ModelDescription,
): string | null {
  const path = resume === true ? findLatest(workDir) : resolveCheckpointPath(resume as string);
  if (!path) return null;
  const state = readCheckpointState(path);
  if (state.configHash && state.configHash !== configHash) {
    const saved = readResolvedConfig(dirname(path));
    const diff: string[] = [];
    if (saved && saved.configHash === state.configHash) {
      if (saved.modelHash !== model.modelHash) diff.push(`the model (${saved.model.type} ${saved.modelHash} → ${model.type} ${model.modelHash})`);
      diff.push(...diffConfigs(trainingSettings(saved.config), trainingSettings(current)));
    }
    throw new TrainError(
      `${path}: the checkpoint was trained with config ${state.configHash}, this config resolves to ${configHash}` +
        (diff.length ? ` (differs in ${diff.slice(0, 5).join('; ')}${diff.length > 5 ? `; … ${diff.length - 5} more` : ''})` : ' (model or training settings differ)') +
        '; resume with the same config and --cfg-options, or pass --allow-config-change',
    );
  }
  return path;
}

export async function trainExperiment(cfg: LoadedConfig, opts: TrainExperimentOptions = {}): Promise<TrainExperimentResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const data = cfg.data;
  const workDir = resolve(opts.workDir ?? `work_dirs/${cfg.name}`);
  const seed = data.train.seed;

  const trainSet = await loadDataset(data.data, 'train', 'train');
  const valSet = data.train.validate ? await loadDataset(data.data, 'val', 'test') : null;
  log(
    `data: train ${trainSet.samples.length} images (${trainSet.annFile})` +
      (valSet ? `, val ${valSet.samples.length} images (${valSet.annFile})` : ', no validation') +
      `, ${trainSet.numClasses} classes`,
  );
  for (const [name, ds] of [['train', trainSet], ['val', valSet]] as const) {
    if (ds && ds.skipped.total > 0) log(`data: ${name}: skipped ${ds.skipped.total} bad record(s) (data.onBad 'skip'): ${JSON.stringify(ds.skipped.byReason)}`);
  }

  const model = buildModel(cfg, trainSet.numClasses, trainSet.annFile);
  const trainLoader = new DataLoader(trainSet, loaderOptions(data.data, 'train', seed));
  const valLoader = valSet ? new DataLoader(valSet, loaderOptions(data.data, 'test', seed, data.test.batchSize)) : null;
  let optimizer: Optimizer | null = null;
  let sig: { signal: AbortSignal; dispose(): void } | null = null;
  try {
    if (model.numClasses !== trainSet.numClasses) {
      throw new TrainError(
        `${cfg.file}: the model factory builds ${model.numClasses} classes but ${trainSet.annFile} has ${trainSet.numClasses} categories; ` +
          'build the detector with the numClasses its factory receives (ctx.numClasses)',
      );
    }
    if (data.train.pretrained) {
      const backbone = (model as unknown as { backbone?: unknown }).backbone;
      if (!backbone) throw new TrainError(`train.pretrained: ${model.constructor.name} has no 'backbone' to load weights into`);
      // .safetensors or .pth (torchvision's resnet50-*.pth as downloaded); torchvision names, fc dropped, strict.
      const report = loadWeightsInto(backbone as Parameters<typeof loadWeightsInto>[0], data.train.pretrained, { mapName: dropClassifier });
      log(`pretrained: loaded ${report.loadedKeys.length} backbone tensors from ${data.train.pretrained}`);
    }
    if (opts.weights) {
      const report = loadWeightsInto(model, opts.weights, { strict: opts.strictWeights ?? false });
      for (const line of formatWeightsReport(report).split('\n')) log(`weights: ${line}`);
      if (opts.resume) log('weights: --resume given: the resumed checkpoint replaces these weights');
    }
    const desc = describeModel(model);
    const configHash = trainingHash(data, desc);
    if (opts.resume && !opts.allowConfigChange) checkResumeConfig(opts.resume, workDir, configHash, data, desc);
    const configFile = writeResolvedConfig(workDir, cfg, desc, configHash);

    const lr = effectiveLr(data);
    const t = data.train;
    const params = model.namedParameters({ trainableOnly: true });
    optimizer =
      t.optimizer === 'AdamW'
        ? new AdamW(params, { lr, betas: t.betas, eps: t.eps, weightDecay: t.weightDecay })
        : new SGD(params, { lr, momentum: t.momentum, weightDecay: t.weightDecay });
    const trainData = loaderTrainData(trainLoader);
    const itersPerEpoch = Math.ceil(trainData.batchesPerEpoch / data.train.accumulate);
    const totalIters = itersPerEpoch * data.train.epochs;
    log(
      `model: ${desc.type}, ${(desc.parameters / 1e6).toFixed(2)} M parameters (${(desc.trainableParameters / 1e6).toFixed(2)} M trainable); ` +
        `${data.train.epochs} epochs × ${itersPerEpoch} iterations, ${data.data.batchSize}×${data.train.accumulate} images per update, ${data.train.optimizer} lr ${lr}`,
    );
    log(`work dir: ${workDir}`);

    const metrics = data.train.evalMetrics as IouType[];
    const evalFn =
      valSet && valLoader
        ? async (): Promise<Record<string, number>> => {
            const dets = await predictDataset(model, valLoader);
            return evaluateResults(valSet.coco, cocoResults(valSet, dets), metrics, (m) => log(`eval: warning: ${m}`)).metrics;
          }
        : undefined;
    // evaluation every N iterations, or at the end of every k-th epoch
    const evalEvery = data.train.evalEvery > 0 ? data.train.evalEvery : data.train.evalEveryEpochs > 1 ? data.train.evalEveryEpochs * itersPerEpoch : undefined;
    const finalEvalNeeded = evalEvery !== undefined && evalFn !== undefined && totalIters % evalEvery !== 0;

    if (opts.handleSigint ?? true) sig = sigintAbort(() => log('tiedet: Ctrl-C — finishing this iteration and saving a checkpoint (Ctrl-C again quits at once)'));
    const ck = data.train.checkpoint;
    let lastEvalIter = -1;
    const result = await train({
      model,
      lossFn: (batch) => model.loss(batch),
      // webgpu has no synchronous read: a detector that reads mid-step (Mask R-CNN's proposals) runs its async loss
      lossFnAsync: asyncLossOf(model),
      data: trainData,
      optimizer,
      schedule: scheduleOf(data.train, lr),
      workDir,
      resume: opts.resume,
      accumulate: data.train.accumulate,
      clipGrad: data.train.clipGrad > 0 ? { maxNorm: data.train.clipGrad } : null,
      logEvery: data.train.logEvery,
      evalEvery,
      evalFn: evalFn
        ? async (ctx) => {
            lastEvalIter = ctx.iteration;
            return evalFn();
          }
        : undefined,
      checkpoint: {
        everyEpochs: ck.everyEpochs,
        everyIterations: ck.everyIterations > 0 ? ck.everyIterations : undefined,
        keepLast: ck.keepLast,
        best: ck.best ? { key: ck.best } : undefined,
      },
      nanGuard: { maxConsecutive: data.train.maxNanSteps },
      rngs: detectorRngs(model),
      configHash,
      allowConfigChange: opts.allowConfigChange,
      signal: sig?.signal,
      stopAfter: opts.stopAfter,
      progress: opts.progress,
      onIteration: opts.onIteration,
    });
    // With evaluation every k epochs / N iterations, the last one may not fall on the final iteration.
    let finalMetrics = result.metrics;
    if (result.status === 'completed' && finalEvalNeeded && lastEvalIter !== result.iteration && evalFn) {
      finalMetrics = await evalFn();
      new JsonlLogger(result.logFile).write({ mode: 'val', iter: result.iteration, epoch: result.epoch, ...finalMetrics });
      log(`eval @ iter ${result.iteration}: ${Object.entries(finalMetrics).map(([k, v]) => `${k} ${v.toFixed(3)}`).join('  ')}`);
    }
    return {
      ...result,
      metrics: finalMetrics,
      workDir,
      configFile,
      configHash,
      model: desc,
      lr,
      itersPerEpoch,
      totalIters,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    sig?.dispose();
    optimizer?.dispose();
    model.dispose();
    await trainLoader.close();
    await valLoader?.close();
  }
}

/** The detector's async loss (`lossAsync`, e.g. Mask R-CNN) when the backend is webgpu, else undefined. */
function asyncLossOf(model: unknown): AsyncLossFn<DetectionBatch> | undefined {
  const m = model as { lossAsync?: (b: DetectionBatch, tape: TapePhases) => Promise<Record<string, tf.Scalar>> };
  if (tf.getBackend() !== 'webgpu' || typeof m.lossAsync !== 'function') return undefined;
  return (batch, _ctx, tape) => m.lossAsync!(batch, tape);
}
