/**
 * The training loop, generic over any `Trainable` + `LossFn` (types.ts) — mmengine's `EpochBasedTrainLoop` with
 * its default hooks (param scheduler, logger, checkpoint, evaluation), plus what users of those loops ask for:
 * gradient accumulation, a NaN/Inf guard, Ctrl-C that saves, and a resume that continues *exactly*.
 *
 * One iteration = one optimizer update = `accumulate` micro-batches (the last group of an epoch may be shorter):
 *   lr ← lrAt(schedule, iteration, epoch)          (lr-schedule.ts; warm-up by iteration, steps by epoch)
 *   for each micro-batch: losses = lossFn(batch); total = Σ entries whose name contains "loss"; grads of total
 *   grads ← mean over the group (grad-accum.ts); norm ← ‖grads‖ (clip.ts)
 *   NaN guard (nan-guard.ts): any loss or the norm non-finite → skip the update (and roll back the buffers the
 *   forward pass changed, e.g. BN running statistics), log why; K in a row → stop
 *   optional clipping (clip_grad_norm_ semantics), optimizer.step(grads)
 * then: log (JSON lines, logger.ts) every `logEvery` iterations, progress bar (progress.ts), evaluation every
 * `evalEvery` iterations or at each epoch end, checkpoint every `checkpoint.everyEpochs` epochs /
 * `everyIterations` iterations and at the end (checkpoint-state.ts: keep-last-N, `latest`, save-best).
 *
 * Exact resume: a checkpoint holds the weights and buffers, the optimizer moments and step count, the RNG states
 * of `rngs`, the iteration / epoch / position in the epoch's data order and the NaN-guard counters; the data
 * source is deterministic in (epoch, start) and the learning rate a function of (iteration, epoch). So stopping
 * after any iteration and resuming gives bit-identical weights to a run that never stopped (test/train/loop.test.ts).
 *
 * Stopping: when `signal` aborts (Ctrl-C through `sigintAbort()`) or `stopAfter` iterations are done, the current
 * iteration finishes, a checkpoint is saved and `train` resolves with status 'interrupted' / 'stopped'.
 *
 * Memory: every tensor a step creates is freed within the step (the loss function's intermediates by the
 * gradient tape's scope, batches by `data.disposeBatch` or `tf.dispose`); the tensor count is flat across
 * iterations once the optimizer's momentum buffers exist.
 */
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../nn/rng.js';
import {
  CheckpointManager,
  findLatest,
  metricSlug,
  readCheckpointState,
  resolveCheckpointPath,
  restoreCheckpoint,
  type AtomicWriter,
  type BestRecord,
  type CheckpointContent,
} from './checkpoint-state.js';
import { clipGradNorm, firstNonFiniteGradientAsync, gradNormAsync } from './clip.js';
import { variableGradsAsync } from '../engine/async-grads.js';
import { readAll, readScalars } from '../engine/async-read.js';
import { assertDeviceHealthy, deviceFaultError } from './device-fault.js';
import { GradAccumulator } from './grad-accum.js';
import { JsonlLogger, memoryStats, MetricWindow } from './logger.js';
import { lrAt, validateSchedule, type LrSchedule } from './lr-schedule.js';
import { NanGuard, NonFiniteError } from './nan-guard.js';
import { formatValue, ProgressBar, type ProgressStream } from './progress.js';
import type { AsyncLossFn, EvalFn, LossFn, Losses, Optimizer, StepContext, Trainable, TrainData } from './types.js';

export interface CheckpointPolicy {
  /** Save at the end of every N-th epoch; default 1. 0 disables epoch checkpoints. */
  everyEpochs?: number;
  /** Also save every N iterations; default off. */
  everyIterations?: number;
  /** Keep this many periodic checkpoints; default 3 (Infinity: all). */
  keepLast?: number;
  /** Keep the checkpoint with the best value of an evaluation metric (mmengine `save_best`). */
  best?: { key: string; mode?: 'max' | 'min' };
}

export interface TrainOptions<B> {
  model: Trainable;
  lossFn: LossFn<B>;
  /**
   * An async loss (types.ts `AsyncLossFn`), used instead of `lossFn` when given: a loss that reads tensors in the
   * middle of the step (Mask R-CNN's proposals) without a synchronous GPU read — required on webgpu.
   */
  lossFnAsync?: AsyncLossFn<B>;
  data: TrainData<B>;
  optimizer: Optimizer;
  /** Learning-rate schedule; its `epochs` is the length of the run. */
  schedule: LrSchedule;
  /** Checkpoints, `latest` and the log go here. */
  workDir: string;
  /** true: continue from the latest checkpoint in `workDir` (a fresh start when there is none); a path: that one. */
  resume?: boolean | string;
  /** Micro-batches per update (gradient accumulation); default 1. */
  accumulate?: number;
  /** Gradient clipping (torch `clip_grad_norm_`); default none. */
  clipGrad?: { maxNorm: number; normType?: number } | null;
  /** Write a train line every N iterations; default 50. */
  logEvery?: number;
  /** Log file; default `<workDir>/log.jsonl` (appended to across resumes). */
  logFile?: string;
  /** Evaluate every N iterations; default: at the end of every epoch (when `evalFn` is given). */
  evalEvery?: number;
  evalFn?: EvalFn;
  checkpoint?: CheckpointPolicy;
  nanGuard?: { maxConsecutive?: number };
  /** Random generators used during training (by the loss function, samplers…); their states are checkpointed. */
  rngs?: Record<string, Rng>;
  /** Hash of the resolved config (`hashConfig`); resuming a checkpoint of another config is an error. */
  configHash?: string;
  /** Resume even when the checkpoint's config hash differs. */
  allowConfigChange?: boolean;
  /** Abort → finish the current iteration, save a checkpoint, resolve with status 'interrupted'. */
  signal?: AbortSignal;
  /** Stop (saving a checkpoint) once this many iterations are complete in total. */
  stopAfter?: number;
  /** Progress output: a stream (default process.stderr) or false for none. */
  progress?: ProgressStream | false;
  /** Called after every iteration (before evaluation and checkpointing). */
  onIteration?: (info: IterationInfo) => void;
  /** Atomic file writer for checkpoints (tests inject crashes). */
  writeFile?: AtomicWriter;
}

export interface IterationInfo {
  /** Completed iterations (1-based count). */
  iteration: number;
  /** 0-based epoch the iteration belonged to. */
  epoch: number;
  lr: number;
  /** Mean of each loss term over the iteration's micro-batches, and the total `loss`. */
  losses: Record<string, number>;
  gradNorm: number;
  /** Why the update was skipped (NaN guard), or null. */
  skipped: string | null;
}

export interface TrainResult {
  status: 'completed' | 'interrupted' | 'stopped';
  /** Completed iterations. */
  iteration: number;
  /** The 0-based epoch the run would continue in (= epochs when completed). */
  epoch: number;
  /** JSON path of the last checkpoint written (or resumed from), null if none. */
  checkpoint: string | null;
  best: BestRecord | null;
  /** Metrics of the last evaluation. */
  metrics: Record<string, number> | null;
  resumedFrom: string | null;
  logFile: string;
}

/** A configuration or resume problem; the message says what to do. */
export class TrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainError';
  }
}

/**
 * An AbortSignal that fires on the first Ctrl-C (SIGINT); a second Ctrl-C exits at once with code 130. Call
 * `dispose()` when training is over to remove the handler.
 */
export function sigintAbort(onFirst?: () => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    onFirst?.();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, dispose: () => void process.off('SIGINT', handler) };
}

function positiveInt(v: number | undefined, name: string, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < 1) throw new TrainError(`train: ${name} must be an integer ≥ 1, got ${x}`);
  return x;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

interface LoopState {
  iteration: number;
  epoch: number;
  iterInEpoch: number;
  position: number;
  lr: number;
  best: BestRecord | null;
  metrics: Record<string, number> | null;
}

/** Train `model` according to `options`; resolves when the schedule is done or the run was stopped. */
export async function train<B>(o: TrainOptions<B>): Promise<TrainResult> {
  const { model, data, optimizer, schedule } = o;
  validateSchedule(schedule);
  const k = positiveInt(o.accumulate, 'accumulate', 1);
  const logEvery = positiveInt(o.logEvery, 'logEvery', 50);
  const evalEvery = o.evalEvery === undefined ? undefined : positiveInt(o.evalEvery, 'evalEvery', 1);
  const ck = o.checkpoint ?? {};
  const everyEpochs = ck.everyEpochs ?? 1;
  if (!Number.isInteger(everyEpochs) || everyEpochs < 0) throw new TrainError(`train: checkpoint.everyEpochs must be an integer ≥ 0, got ${everyEpochs}`);
  const everyIterations = ck.everyIterations === undefined ? undefined : positiveInt(ck.everyIterations, 'checkpoint.everyIterations', 1);
  if (!Number.isInteger(data.batchesPerEpoch) || data.batchesPerEpoch < 1) {
    throw new TrainError(`train: data.batchesPerEpoch must be an integer ≥ 1, got ${data.batchesPerEpoch}`);
  }
  const itersPerEpoch = Math.ceil(data.batchesPerEpoch / k);
  const totalIters = itersPerEpoch * schedule.epochs;
  const rngs = o.rngs ?? {};
  const bestMode = ck.best?.mode ?? 'max';

  const manager = new CheckpointManager(o.workDir, { keepLast: ck.keepLast, writeFile: o.writeFile });
  const logFile = o.logFile ?? join(o.workDir, 'log.jsonl');
  const logger = new JsonlLogger(logFile);
  const guard = new NanGuard(o.nanGuard);
  const progress = o.progress === false ? null : new ProgressBar({ total: totalIters, stream: o.progress, every: logEvery });
  const say = (line: string): void => progress?.log(line);

  const st: LoopState = { iteration: 0, epoch: 0, iterInEpoch: 0, position: 0, lr: lrAt(schedule, 0, 0), best: null, metrics: null };
  let elapsedBefore = 0;
  let resumedFrom: string | null = null;
  let lastCheckpoint: string | null = null;

  // ---- resume ----
  if (o.resume) {
    const path = o.resume === true ? findLatest(o.workDir) : resolveCheckpointPath(o.resume);
    if (!path) {
      say(`tiedet: no checkpoint in ${o.workDir}; starting from scratch`);
    } else {
      const cs = readCheckpointState(path);
      if (o.configHash && cs.configHash && cs.configHash !== o.configHash && !o.allowConfigChange) {
        throw new TrainError(
          `${path}: written with config ${cs.configHash}, the current config is ${o.configHash}; ` +
            'resume with the same config (or allow the change explicitly)',
        );
      }
      if (cs.accumulate !== k) {
        throw new TrainError(`${path}: written with ${cs.accumulate} micro-batches per update, the run now uses ${k}; an exact resume needs the same`);
      }
      if (cs.position > data.batchesPerEpoch || cs.iterInEpoch > itersPerEpoch || cs.iteration !== cs.epoch * itersPerEpoch + cs.iterInEpoch) {
        throw new TrainError(
          `${path}: iteration ${cs.iteration} (epoch ${cs.epoch}, ${cs.iterInEpoch} into it, position ${cs.position}) does not fit ` +
            `${itersPerEpoch} iterations per epoch (${data.batchesPerEpoch} micro-batches); the data set or batch size changed`,
        );
      }
      restoreCheckpoint(path, { model, optimizer, rngs });
      guard.load(cs.nanGuard);
      Object.assign(st, { iteration: cs.iteration, epoch: cs.epoch, iterInEpoch: cs.iterInEpoch, position: cs.position, lr: cs.lr, best: cs.best, metrics: cs.metrics });
      elapsedBefore = cs.elapsedSeconds;
      resumedFrom = path;
      lastCheckpoint = path;
      logger.write({ mode: 'resume', iter: cs.iteration, epoch: cs.epoch + 1, checkpoint: basename(path) });
      say(`tiedet: resumed from ${path} (iteration ${cs.iteration}, epoch ${cs.epoch + 1})`);
    }
  }

  const params = model.namedParameters({ trainableOnly: true });
  if (params.length === 0) throw new TrainError('train: the model has no trainable parameters');
  const vars = params.map(([, v]) => v);
  // Buffers the forward pass may update (BN running statistics): restored when the NaN guard skips a step.
  const allParams = new Set(model.namedParameters().map(([n]) => n));
  const buffers = [...model.stateDict()].filter(([n]) => !allParams.has(n)).map(([, t]) => t as tf.Variable);
  const paramName = new Map(params.map(([n, v]) => [v.name, n]));
  const normType = o.clipGrad?.normType ?? 2;
  if (o.clipGrad && !(o.clipGrad.maxNorm > 0)) throw new TrainError(`train: clipGrad.maxNorm must be > 0, got ${o.clipGrad.maxNorm}`);

  logger.write({
    mode: 'run',
    iter: st.iteration,
    epoch: st.epoch + 1,
    total_iters: totalIters,
    iters_per_epoch: itersPerEpoch,
    accumulate: k,
    started: new Date().toISOString(),
  });
  const sessionStart = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - sessionStart) / 1000;

  const content = (): CheckpointContent => ({
    iteration: st.iteration,
    epoch: st.epoch,
    iterInEpoch: st.iterInEpoch,
    position: st.position,
    lr: st.lr,
    schedule,
    accumulate: k,
    rng: Object.fromEntries(Object.entries(rngs).map(([n, r]) => [n, r.getState()])),
    nanGuard: guard.state,
    best: st.best,
    metrics: st.metrics,
    configHash: o.configHash ?? null,
    elapsedSeconds: elapsed(),
  });
  let savedAt = resumedFrom ? st.iteration : -1;
  const savePeriodic = async (): Promise<void> => {
    await prefetchState();
    lastCheckpoint = manager.save(model, optimizer, content());
    savedAt = st.iteration;
  };

  /** Forward + backward of one micro-batch: loss values and gradients by parameter name (one async read). */
  const microStep = async (batch: B, ctx: StepContext): Promise<{ values: Record<string, number>; grads: Map<string, tf.Tensor> }> => {
    const names: string[] = [];
    const kept: tf.Tensor[] = [];
    const total = (losses: Losses): tf.Scalar => {
      if (!losses || typeof losses !== 'object') throw new TrainError('lossFn must return an object of named scalar tensors');
      const parts: tf.Tensor[] = [];
      for (const [name, t] of Object.entries(losses)) {
        if (!(t instanceof tf.Tensor) || t.rank !== 0) {
          throw new TrainError(`lossFn: "${name}" must be a scalar tensor, got ${t instanceof tf.Tensor ? `shape [${t.shape.join(', ')}]` : typeof t}`);
        }
        if (name === 'loss') throw new TrainError('lossFn: "loss" is the total the loop computes; name the terms loss_<what>');
        names.push(name);
        kept.push(tf.keep(t));
        if (name.includes('loss')) parts.push(t);
      }
      if (!parts.length) throw new TrainError(`lossFn returned no entry whose name contains "loss" (got: ${names.join(', ') || 'none'})`);
      return (parts.length === 1 ? tf.clone(parts[0]!) : tf.addN(parts)) as tf.Scalar;
    };
    let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
    const lossFnAsync = o.lossFnAsync;
    try {
      result = lossFnAsync
        ? await variableGradsAsync(async (tape) => {
            const losses = await lossFnAsync(batch, ctx, tape);
            return tape.run(() => total(losses));
          }, vars)
        : tf.variableGrads(() => total(o.lossFn(batch, ctx)), vars);
    } catch (e) {
      tf.dispose(kept);
      throw e;
    }
    let read: number[];
    try {
      read = await readScalars([result.value, ...kept]);
    } finally {
      tf.dispose([result.value, ...kept]);
    }
    const values: Record<string, number> = { loss: read[0]! };
    names.forEach((n, i) => (values[n] = read[i + 1]!));
    const grads = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(result.grads)) grads.set(paramName.get(vn) ?? vn, g);
    return { values, grads };
  };

  /** Download the model's state and the optimizer's moments, so that the synchronous checkpoint writer reads CPU copies. */
  const prefetchState = async (): Promise<void> => {
    const st = optimizer.exportState();
    try {
      await readAll([...model.stateDict().values(), ...st.tensors.values()]);
    } finally {
      tf.dispose([...st.tensors.values()]);
    }
  };

  const disposeBatch = (b: B): void => {
    if (data.disposeBatch) data.disposeBatch(b);
    else tf.dispose(b as unknown as tf.TensorContainer);
  };

  const runEval = async (): Promise<void> => {
    if (!o.evalFn) return;
    model.train(false);
    let metrics: Record<string, number>;
    try {
      metrics = await o.evalFn({ iteration: st.iteration, epoch: st.epoch });
    } finally {
      model.train(true);
    }
    st.metrics = { ...metrics };
    logger.write({ mode: 'val', iter: st.iteration, epoch: st.epoch, ...metrics });
    say(`eval @ iter ${st.iteration}: ${Object.entries(metrics).map(([k2, v]) => `${k2} ${formatValue(v)}`).join('  ')}`);
  };

  /** After evaluation: is the new value the best so far? Then the record to save under. */
  const improvedBest = (): BestRecord | null => {
    const key = ck.best?.key;
    if (!key || !st.metrics || !(key in st.metrics)) return null;
    const v = st.metrics[key]!;
    if (!Number.isFinite(v)) return null;
    const prev = st.best;
    if (prev && !(bestMode === 'max' ? v > prev.value : v < prev.value)) return null;
    return { key, mode: bestMode, value: v, iteration: st.iteration, checkpoint: `best_${metricSlug(key)}_iter_${st.iteration}.json` };
  };

  // ---- the loop ----
  const window = new MetricWindow();
  let windowSkipped = 0;
  let windowTime = 0;
  let windowData = 0;
  let windowIters = 0;
  model.train(true);
  progress?.start(st.iteration);
  const finish = (status: TrainResult['status']): TrainResult => {
    progress?.done();
    return { status, iteration: st.iteration, epoch: st.epoch, checkpoint: lastCheckpoint, best: st.best, metrics: st.metrics, resumedFrom, logFile };
  };
  if (o.signal?.aborted) return finish('interrupted');
  if (o.stopAfter !== undefined && st.iteration >= o.stopAfter && st.iteration < totalIters) return finish('stopped');

  try {
    while (st.epoch < schedule.epochs) {
      const source = data.batches(st.epoch, st.position);
      const it: Iterator<B> | AsyncIterator<B> =
        Symbol.asyncIterator in source ? (source as AsyncIterable<B>)[Symbol.asyncIterator]() : (source as Iterable<B>)[Symbol.iterator]();
      try {
        let epochDone = false;
        while (!epochDone) {
          const t0 = performance.now();
          let dataTime = 0;
          const epoch = st.epoch;
          const lr = lrAt(schedule, st.iteration, epoch);
          optimizer.lr = lr;
          const group = Math.min(k, data.batchesPerEpoch - st.position);
          const acc = new GradAccumulator();
          const stepLosses = new MetricWindow();
          let grads: Map<string, tf.Tensor> | null = null;
          let norm = NaN;
          let skipped: string | null = null;
          const bufferBackup = buffers.map((b) => tf.clone(b));
          try {
            for (let m = 0; m < group; m++) {
              const td = performance.now();
              const r = await it.next();
              dataTime += performance.now() - td;
              if (r.done) {
                throw new TrainError(
                  `data: epoch ${epoch + 1} ended after ${st.position + m} micro-batches, but batchesPerEpoch is ${data.batchesPerEpoch}`,
                );
              }
              try {
                const { values, grads: g } = await microStep(r.value, { iteration: st.iteration, epoch, microBatch: m });
                acc.add(g);
                stepLosses.add(values);
                assertDeviceHealthy(r.value, st.iteration + 1);
              } catch (e) {
                throw deviceFaultError(e, r.value, st.iteration + 1);
              } finally {
                disposeBatch(r.value);
              }
            }
            grads = acc.mean();
            norm = await gradNormAsync(grads, normType);
            const losses = stepLosses.mean();
            const badGradient = Number.isFinite(norm) ? null : await firstNonFiniteGradientAsync(grads);
            try {
              skipped = guard.check({ iteration: st.iteration, losses, gradNorm: norm, findBadGradient: () => badGradient });
            } catch (e) {
              if (e instanceof NonFiniteError) {
                logger.write({ mode: 'nan', iter: st.iteration + 1, epoch: epoch + 1, reason: e.reason, stopped: true });
                say(`tiedet: iteration ${st.iteration + 1}: ${e.reason} — stopping`);
              }
              throw e;
            }
            if (skipped === null) {
              if (o.clipGrad) clipGradNorm(grads, o.clipGrad.maxNorm, normType, norm);
              optimizer.step(grads);
            } else {
              buffers.forEach((b, i) => b.assign(bufferBackup[i]!));
              logger.write({ mode: 'nan', iter: st.iteration + 1, epoch: epoch + 1, reason: skipped, consecutive: guard.state.consecutive });
              say(`tiedet: iteration ${st.iteration + 1}: ${skipped} — step skipped (${guard.state.consecutive}/${guard.maxConsecutive} in a row)`);
            }
            // ---- bookkeeping ----
            st.iteration += 1;
            st.iterInEpoch += 1;
            st.position += group;
            st.lr = lr;
            epochDone = st.iterInEpoch === itersPerEpoch;
            if (epochDone) {
              st.epoch += 1;
              st.iterInEpoch = 0;
              st.position = 0;
            }
            if (skipped === null) window.add({ ...losses, grad_norm: norm });
            else windowSkipped += 1;
            windowTime += (performance.now() - t0) / 1000;
            windowData += dataTime / 1000;
            windowIters += 1;
            if (st.iteration % logEvery === 0 || st.iteration === totalIters) {
              logger.write({
                mode: 'train',
                iter: st.iteration,
                epoch: epoch + 1,
                lr,
                ...window.mean(),
                time: windowTime / windowIters,
                data_time: windowData / windowIters,
                ...memoryStats(),
                skipped: windowSkipped,
              });
              window.reset();
              windowSkipped = windowTime = windowData = windowIters = 0;
            }
            progress?.update({ iteration: st.iteration, epoch: epoch + 1, epochs: schedule.epochs, lr, losses });
            o.onIteration?.({ iteration: st.iteration, epoch, lr, losses, gradNorm: norm, skipped });
          } finally {
            acc.dispose();
            tf.dispose(bufferBackup);
            if (grads) tf.dispose([...grads.values()]);
          }

          // ---- evaluation and checkpoints ----
          const evalDue = o.evalFn && (evalEvery ? st.iteration % evalEvery === 0 : epochDone);
          if (evalDue) await runEval();
          const best = evalDue ? improvedBest() : null;
          const previousBest = st.best?.checkpoint ?? null;
          if (best) st.best = best;
          const done = st.iteration === totalIters;
          const saveDue =
            done ||
            (epochDone && everyEpochs > 0 && st.epoch % everyEpochs === 0) ||
            (everyIterations !== undefined && st.iteration % everyIterations === 0);
          if (saveDue) await savePeriodic();
          if (best) {
            await prefetchState();
            manager.saveBest(model, optimizer, content(), best.key, previousBest);
          }
          if (done) return finish('completed');
          const stop = o.signal?.aborted ? 'interrupted' : o.stopAfter !== undefined && st.iteration >= o.stopAfter ? 'stopped' : null;
          if (stop) {
            if (savedAt !== st.iteration) await savePeriodic();
            say(`tiedet: ${stop} at iteration ${st.iteration}; checkpoint ${lastCheckpoint} (resume to continue)`);
            return finish(stop);
          }
          await yieldToEventLoop();
        }
      } finally {
        await it.return?.();
      }
    }
  } finally {
    progress?.done(); // leave the bar's line intact when an error ends the run
  }
  return finish('completed');
}
