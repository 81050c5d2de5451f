/**
 * The minimal interfaces the training engine (loop.ts) works with, so it trains any model — a detector, a
 * classifier, a linear regression — without knowing it:
 *
 * - `Trainable`: the part of the `Module` API (src/nn/module.ts) the engine uses. Every `Module` (hence every
 *   backbone and detector) satisfies it structurally.
 * - `LossFn`: batch → named losses (scalar tensors), mmdetection's `loss()` contract. The total that is
 *   back-propagated is the sum of the entries whose name contains `loss` (mmdetection's `parse_losses`); other
 *   entries (accuracies, counts) are only logged.
 * - `TrainData`: a seeded, resumable source of micro-batches: `batches(epoch, start)` must yield the same batches
 *   for the same (epoch, start) every time — that is what makes a resumed run continue exactly. Augmentations
 *   should draw their randomness from (seed, epoch, sample index) (see `sampleRng` in sampler.ts) rather than from
 *   one shared stream, because a prefetching loader runs ahead of what the loop has consumed.
 * - `Optimizer`: what the loop needs from SGD / AdamW (src/train/sgd.ts, adamw.ts): a settable `lr`, `step(grads)`
 *   and its state for checkpoints (src/train/optimizer-state.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { OptimizerState, OptimizerType } from './optimizer-state.js';
import type { Gradients } from './optimizer-state.js';
import type { TapePhases } from '../engine/async-grads.js';

/** The model side: named parameters and a state dict (parameters + buffers), train/eval mode. */
export interface Trainable {
  namedParameters(options?: { trainableOnly?: boolean }): Array<[string, tf.Variable]>;
  /** Parameters and buffers (running statistics, counters) by dotted name; live variables, not copies. */
  stateDict(): Map<string, tf.Tensor>;
  loadStateDict(state: ReadonlyMap<string, tf.Tensor>, options?: { strict?: boolean }): unknown;
  train(mode?: boolean): unknown;
}

/** Named losses (and other scalars to log) of one micro-batch. */
export type Losses = Record<string, tf.Scalar>;

/** Where a micro-batch sits in the run; handed to the loss function. */
export interface StepContext {
  /** 0-based optimizer update being computed. */
  iteration: number;
  /** 0-based epoch. */
  epoch: number;
  /** Index of this micro-batch within the update (0 … accumulation − 1). */
  microBatch: number;
}

/**
 * batch → named losses. Runs inside `tf.variableGrads`: it must be synchronous and build the losses from the
 * model's variables. Tensors it creates are freed by the loop (only the returned scalars are read).
 */
export type LossFn<B> = (batch: B, ctx: StepContext) => Losses;

/**
 * An async loss (src/engine/async-grads.ts): synchronous pieces through `tape.run`, downloads through `tape.read`
 * — a loss that must read tensors mid-way (proposals) without a synchronous GPU read. Returns the named losses
 * (alive; the loop frees them).
 */
export type AsyncLossFn<B> = (batch: B, ctx: StepContext, tape: TapePhases) => Promise<Losses>;

/** A seeded, resumable source of micro-batches. */
export interface TrainData<B> {
  /** Micro-batches per epoch (the same every epoch). */
  batchesPerEpoch: number;
  /**
   * The micro-batches of `epoch` (0-based) from position `start` (0 ≤ start ≤ batchesPerEpoch, the number
   * already consumed) to the end of the epoch; deterministic in (epoch, start).
   */
  batches(epoch: number, start: number): Iterable<B> | AsyncIterable<B>;
  /** Free one batch once the loop is done with it; default `tf.dispose(batch)` (frees every tensor inside). */
  disposeBatch?(batch: B): void;
}

/** The optimizer contract (SGD and AdamW satisfy it). */
export interface Optimizer {
  readonly type: OptimizerType;
  lr: number;
  step(grads: Gradients): void;
  exportState(): OptimizerState;
  importState(state: OptimizerState): void;
  dispose(): void;
}

/** Evaluation during training: returns named metrics (e.g. `bbox_mAP`), logged and used for save-best. */
export type EvalFn = (ctx: { iteration: number; epoch: number }) => Promise<Record<string, number>> | Record<string, number>;
