/**
 * Determinism and stratification of the synthetic dataset: the RNG of image `index` of a split is derived from
 * (seed, split, index) alone — not from the images generated before it — so any image can be regenerated on its
 * own and the same seed gives byte-identical files; and the occlusion bin each image aims at comes from seeded
 * permutations of the bins, block after block, so every bin gets ⌊N / bins⌋ or ⌈N / bins⌉ images.
 */
import { Rng } from '../../src/nn/rng.js';
import { hash2 } from './noise.js';

export type SplitName = 'train' | 'val';

const SPLIT_CODE: Record<SplitName, number> = { train: 1, val: 2 };
const SCHEDULE_INDEX = -1; // the bin shuffle's stream, distinct from every image's

/** The xoshiro128** stream of one image: its 128-bit state is four hashes of (seed, split, index). */
export function imageRng(seed: number, split: SplitName, index: number): Rng {
  const state: [number, number, number, number] = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) state[k] = hash2(index, 4 * SPLIT_CODE[split] + k, seed);
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
  return Rng.fromState(state);
}

/**
 * The target bin of each of the split's `count` images: consecutive blocks of `bins` images are seeded
 * permutations of 0…bins−1, so each bin is used ⌊count/bins⌋ or ⌈count/bins⌉ times (and a split smaller than
 * `bins` gets a random subset of the bins).
 */
export function binSchedule(seed: number, split: SplitName, count: number, bins = 10): number[] {
  const rng = imageRng(seed, split, SCHEDULE_INDEX);
  const targets: number[] = [];
  while (targets.length < count) targets.push(...rng.shuffle(Array.from({ length: bins }, (_, b) => b)));
  return targets.slice(0, count);
}
