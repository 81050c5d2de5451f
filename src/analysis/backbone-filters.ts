/**
 * The filter analysis of one backbone (PAPER.md Fig. 1 / 9): per stage (C2–C5, the outputs of layer1…layer4),
 *
 * - guided-backpropagation view: `filters` channels of the stage output sampled with a seeded generator (the
 *   same channels for every backbone of the same width), their guided patterns (guided-backprop.ts) on every
 *   image, the pairwise cosine similarity of the patterns per image, averaged over the images per pair;
 * - weight-space view: the pairwise cosine similarity of the filters of every conv weight of the stage
 *   (`layer{k}.*`, 4-D weights; a TBC's stored shared filters), pooled over the stage's convs.
 *
 * The backbone is put in eval mode (BN on running statistics) for the guided passes and restored after. The
 * result is plain numbers (eval/filter-report.ts turns several backbones' results into histograms and a page).
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone, BackboneFeatures } from '../backbones/backbone.js';
import { Rng } from '../nn/rng.js';
import { guidedPatterns, type InputImage } from './guided-backprop.js';
import { PairAverager, pairwiseCosine, sampleIndices, weightFilterVectors } from './filter-similarity.js';

export const STAGES = ['c2', 'c3', 'c4', 'c5'] as const;
export type StageName = (typeof STAGES)[number];

export interface BackboneFilterOptions {
  stages?: readonly StageName[];
  /** Filters sampled per stage for the guided view (default 32; all when the stage has fewer). */
  filters?: number;
  /** Seed of the filter sample (default 0). */
  seed?: number;
  /** Called after each image. */
  onImage?: (done: number, total: number) => void;
}

export interface StageFilterResult {
  stage: StageName;
  channels: number;
  /** The sampled channels (guided view). */
  filters: number[];
  /** Per-pair mean cosine similarity of the guided patterns over the images (pairs never defined left out). */
  guided: number[];
  /** Pairs whose patterns were zero on every image (a filter that never fired). */
  guidedUndefinedPairs: number;
  /** Pairwise cosine similarity of the filters of each conv weight of the stage, pooled. */
  weights: number[];
  /** The conv weights of the weight view: name and shape. */
  weightTensors: { name: string; shape: number[] }[];
}

export interface BackboneFilterResult {
  images: number;
  stages: StageFilterResult[];
  seconds: number;
}

function stageIndex(s: StageName): number {
  return STAGES.indexOf(s);
}

/** Weight-space similarities of stage `s`: every 4-D parameter under `layer{k}.`. */
function weightView(backbone: Backbone, s: StageName): { sims: number[]; tensors: { name: string; shape: number[] }[] } {
  const prefix = `layer${stageIndex(s) + 1}.`;
  const sims: number[] = [];
  const tensors: { name: string; shape: number[] }[] = [];
  for (const [name, v] of backbone.namedParameters()) {
    if (!name.startsWith(prefix) || v.rank !== 4 || v.shape[3]! < 2) continue;
    const vecs = weightFilterVectors(v.dataSync() as Float32Array, v.shape);
    for (const c of pairwiseCosine(vecs)) if (!Number.isNaN(c)) sims.push(c);
    tensors.push({ name, shape: [...v.shape] });
  }
  return { sims, tensors };
}

export function analyzeBackboneFilters(backbone: Backbone, images: readonly InputImage[], opts: BackboneFilterOptions = {}): BackboneFilterResult {
  const t0 = performance.now();
  const stages = opts.stages ?? STAGES;
  const k = opts.filters ?? 32;
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`analyzeBackboneFilters: filters must be an integer ≥ 2, got ${k}`);
  const rng = new Rng(opts.seed ?? 0);
  const samples = stages.map((s) => {
    const channels = backbone.outChannels[stageIndex(s)]!;
    return { stage: s, channels, filters: sampleIndices(channels, k, () => rng.uniform()) };
  });
  const averagers = samples.map((sm) => new PairAverager((sm.filters.length * (sm.filters.length - 1)) / 2));
  const wasTraining = backbone.training;
  backbone.eval();
  try {
    images.forEach((img, i) => {
      samples.forEach((sm, j) => {
        const pick = (x: tf.Tensor4D): tf.Tensor4D => {
          const feats: BackboneFeatures = backbone.forward(x);
          return feats[sm.stage];
        };
        averagers[j]!.add(pairwiseCosine(guidedPatterns(pick, img, sm.filters)));
      });
      opts.onImage?.(i + 1, images.length);
    });
  } finally {
    backbone.train(wasTraining);
  }
  const out: StageFilterResult[] = samples.map((sm, j) => {
    const { values, undefinedPairs } = averagers[j]!.means();
    const w = weightView(backbone, sm.stage);
    return { ...sm, guided: values, guidedUndefinedPairs: undefinedPairs, weights: w.sims, weightTensors: w.tensors };
  });
  return { images: images.length, stages: out, seconds: (performance.now() - t0) / 1000 };
}
