/**
 * Samplers: which assigned priors a detector trains on.
 *
 * Reference behaviour: mmdetection's `BaseSampler.sample`, `RandomSampler` and `PseudoSampler`
 * (mmdet/models/task_modules/samplers/):
 *  - `randomSample`: optionally prepend the GT boxes as proposals (`addGtAsProposals`; they become positives of
 *    their own GT, `posIsGt` = 1); expected positives ⌊num·posFraction⌋ — all positives if there are no more than
 *    that, else a uniform random subset; expected negatives num − #positives sampled, capped at
 *    ⌊negPosUb·max(1, #pos)⌋ when `negPosUb` ≥ 0; negatives likewise. Indices are returned sorted ascending (mmdet
 *    applies `unique()`, which sorts).
 *  - `pseudoSample`: every positive and every negative, no GT added (RetinaNet).
 * Randomness: a subset of size m from a gallery of size n is the first m of a partial Fisher–Yates shuffle driven by
 * the given `Rng` (src/nn/rng.ts) — same seed, same picks (mmdet uses torch.randperm, so the picks differ from
 * mmdet's, the distribution does not).
 */
import type { Rng } from '../nn/rng.js';
import { addGtToAssignResult, type AssignResult } from './assigner.js';
import { numBoxes, type BoxArray } from './boxes.js';

/** mmdet `RandomSampler` arguments (camelCase). */
export interface RandomSamplerOptions {
  /** Total number of samples. */
  num: number;
  /** Fraction of positives. */
  posFraction: number;
  /** Upper bound of negatives per positive; < 0 = none (default −1). */
  negPosUb?: number;
  /** Prepend the GT boxes as proposals (default true, as mmdet; the RPN sets false). */
  addGtAsProposals?: boolean;
}

/** RPN sampler (mmdet mask_rcnn_r50_fpn): 256, 0.5, no GT added. */
export const RPN_SAMPLER: RandomSamplerOptions = { num: 256, posFraction: 0.5, negPosUb: -1, addGtAsProposals: false };
/** R-CNN sampler (mmdet mask_rcnn_r50_fpn; mmdet uses it for every Cascade R-CNN stage too): 512, 0.25, GT added. */
export const RCNN_SAMPLER: RandomSamplerOptions = { num: 512, posFraction: 0.25, negPosUb: -1, addGtAsProposals: true };

/** mmdet's `SamplingResult`. Indices refer to `priors` (which starts with the GT boxes when they were added). */
export interface SamplingResult {
  /** Sampled positive / negative indices into `priors`, ascending. */
  posInds: Int32Array;
  negInds: Int32Array;
  /** The candidates sampled from: the input priors, preceded by the GT boxes when `addGtAsProposals`. */
  priors: BoxArray;
  /** Per entry of `priors`: 1 for a prepended GT box. */
  gtFlags: Uint8Array;
  /** The assignment over `priors` (extended with the GT boxes when they were added). */
  assign: AssignResult;
  /** For each positive: its GT (0-based), label, GT box, and whether it is a prepended GT box. */
  posAssignedGtInds: Int32Array;
  posGtLabels: Int32Array;
  posGtBoxes: BoxArray;
  posIsGt: Uint8Array;
  /** The boxes of the positives / negatives (rows of `priors`). */
  posPriors: BoxArray;
  negPriors: BoxArray;
}

/** Uniform random subset of `count` entries of `gallery` (partial Fisher–Yates), sorted ascending. */
export function randomChoice(gallery: Int32Array, count: number, rng: Rng): Int32Array {
  if (!Number.isInteger(count) || count < 0 || count > gallery.length) {
    throw new Error(`randomChoice: cannot pick ${count} of ${gallery.length}`);
  }
  const pool = Int32Array.from(gallery);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(pool.length - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, count).sort();
}

function indicesWhere(gtInds: Int32Array, pred: (g: number) => boolean): Int32Array {
  let c = 0;
  for (let j = 0; j < gtInds.length; j++) if (pred(gtInds[j]!)) c++;
  const out = new Int32Array(c);
  c = 0;
  for (let j = 0; j < gtInds.length; j++) if (pred(gtInds[j]!)) out[c++] = j;
  return out;
}

function gatherBoxes(boxes: BoxArray, inds: Int32Array | ArrayLike<number>): BoxArray {
  const out = new Float32Array(inds.length * 4);
  for (let i = 0; i < inds.length; i++) out.set(boxes.subarray(inds[i]! * 4, inds[i]! * 4 + 4), i * 4);
  return out;
}

function buildResult(
  assign: AssignResult,
  priors: BoxArray,
  gtFlags: Uint8Array,
  gtBoxes: BoxArray,
  posInds: Int32Array,
  negInds: Int32Array,
): SamplingResult {
  const posAssignedGtInds = posInds.map((j) => assign.gtInds[j]! - 1);
  return {
    posInds,
    negInds,
    priors,
    gtFlags,
    assign,
    posAssignedGtInds,
    posGtLabels: posInds.map((j) => assign.labels[j]!),
    posGtBoxes: gatherBoxes(gtBoxes, posAssignedGtInds),
    posIsGt: Uint8Array.from(posInds, (j) => gtFlags[j]!),
    posPriors: gatherBoxes(priors, posInds),
    negPriors: gatherBoxes(priors, negInds),
  };
}

function checkAssign(assign: AssignResult, priors: BoxArray, gtBoxes: BoxArray, what: string): void {
  const n = numBoxes(priors, `${what}: priors`);
  const k = numBoxes(gtBoxes, `${what}: gtBoxes`);
  if (assign.gtInds.length !== n) throw new Error(`${what}: assignment covers ${assign.gtInds.length} priors, got ${n} priors`);
  if (assign.numGts !== k) throw new Error(`${what}: assignment made for ${assign.numGts} GT boxes, got ${k}`);
}

/** mmdet `RandomSampler.sample` (see the file comment). */
export function randomSample(
  assign: AssignResult,
  priors: BoxArray,
  gtBoxes: BoxArray,
  gtLabels: ArrayLike<number>,
  opts: RandomSamplerOptions,
  rng: Rng,
): SamplingResult {
  checkAssign(assign, priors, gtBoxes, 'randomSample');
  if (!Number.isInteger(opts.num) || opts.num < 0) throw new Error(`randomSample: num must be a non-negative integer, got ${opts.num}`);
  if (!(opts.posFraction >= 0 && opts.posFraction <= 1)) throw new Error(`randomSample: posFraction must be in [0, 1], got ${opts.posFraction}`);
  const k = gtBoxes.length / 4;
  let allPriors = priors;
  let gtFlags = new Uint8Array(priors.length / 4);
  let extended = assign;
  if ((opts.addGtAsProposals ?? true) && k > 0) {
    if (gtLabels.length !== k) throw new Error(`randomSample: ${k} GT boxes but ${gtLabels.length} labels`);
    allPriors = new Float32Array(gtBoxes.length + priors.length);
    allPriors.set(gtBoxes, 0);
    allPriors.set(priors, gtBoxes.length);
    gtFlags = new Uint8Array(k + priors.length / 4);
    gtFlags.fill(1, 0, k);
    extended = addGtToAssignResult(assign, gtLabels);
  }
  const expectedPos = Math.floor(opts.num * opts.posFraction);
  const posAll = indicesWhere(extended.gtInds, (g) => g > 0);
  const posInds = posAll.length <= expectedPos ? posAll : randomChoice(posAll, expectedPos, rng);
  let expectedNeg = opts.num - posInds.length;
  const negPosUb = opts.negPosUb ?? -1;
  if (negPosUb >= 0) expectedNeg = Math.min(expectedNeg, Math.floor(negPosUb * Math.max(1, posInds.length)));
  const negAll = indicesWhere(extended.gtInds, (g) => g === 0);
  const negInds = negAll.length <= expectedNeg ? negAll : randomChoice(negAll, expectedNeg, rng);
  return buildResult(extended, allPriors, gtFlags, gtBoxes, posInds, negInds);
}

/** mmdet `PseudoSampler.sample`: all positives (gtInds > 0) and all negatives (gtInds = 0), no GT added. */
export function pseudoSample(assign: AssignResult, priors: BoxArray, gtBoxes: BoxArray): SamplingResult {
  checkAssign(assign, priors, gtBoxes, 'pseudoSample');
  const posInds = indicesWhere(assign.gtInds, (g) => g > 0);
  const negInds = indicesWhere(assign.gtInds, (g) => g === 0);
  return buildResult(assign, priors, new Uint8Array(priors.length / 4), gtBoxes, posInds, negInds);
}
