/**
 * Presets of the synthetic occlusion dataset and the resolution of user options into one validated config.
 *
 * - `tiny`: 128×128, 3 classes (circle, square, triangle), 320 train + 80 val images, up to 6 objects per image —
 *   the demo's and the tests' dataset (seconds to generate).
 * - `small`: 256×256, all 8 classes, 2400 train + 400 val images, up to 8 objects per image; objects from ~10 px
 *   to 90 % of the image, so COCO's small, medium and large ranges are all populated.
 *
 * `images` overrides the total count (split train/val in the preset's proportion), `size` the square image side
 * (object sizes scale with it), `seed` the seed (an unsigned 32-bit integer).
 */
import type { ShapeClass } from './shapes.js';

export const PRESET_NAMES = ['tiny', 'small'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface SyntheticPreset {
  size: number;
  classes: readonly ShapeClass[];
  train: number;
  val: number;
  maxObjects: number;
}

export const PRESETS: Record<PresetName, SyntheticPreset> = {
  tiny: { size: 128, classes: ['circle', 'square', 'triangle'], train: 320, val: 80, maxObjects: 6 },
  small: {
    size: 256,
    classes: ['circle', 'square', 'triangle', 'star', 'hexagon', 'ring', 'cross', 'ellipse'],
    train: 2400,
    val: 400,
    maxObjects: 8,
  },
};

export const MIN_SIZE = 32;
export const MAX_SIZE = 2048;
export const MAX_IMAGES = 1_000_000;

/** An invalid generator option; `option` is its name (as on the command line, without dashes). */
export class SyntheticOptionError extends Error {
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`${option}: ${reason}`);
    this.name = 'SyntheticOptionError';
  }
}

export interface SyntheticConfig {
  preset: PresetName;
  size: number;
  classes: readonly ShapeClass[];
  train: number;
  val: number;
  maxObjects: number;
  /** Smallest circumscribed object radius: max(4, size / 50) px (≈ 10 px objects at 256). */
  minRadius: number;
  /** Largest circumscribed object radius: 0.45 · size (objects up to 90 % of the image side). */
  maxRadius: number;
  seed: number;
}

export interface ConfigOptions {
  preset: string;
  images?: number;
  size?: number;
  seed?: number;
}

function checkInt(option: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SyntheticOptionError(option, `expected an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

/** The preset with the overrides applied; throws SyntheticOptionError on an unknown preset or a bad value. */
export function resolveConfig(opts: ConfigOptions): SyntheticConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(opts.preset)) {
    throw new SyntheticOptionError('preset', `unknown preset '${opts.preset}' (choose ${PRESET_NAMES.join(' or ')})`);
  }
  const name = opts.preset as PresetName;
  const p = PRESETS[name];
  const size = opts.size === undefined ? p.size : checkInt('size', opts.size, MIN_SIZE, MAX_SIZE);
  let train = p.train;
  let val = p.val;
  if (opts.images !== undefined) {
    const n = checkInt('images', opts.images, 2, MAX_IMAGES);
    val = Math.max(1, Math.round((n * p.val) / (p.train + p.val)));
    train = n - val;
  }
  const seed = opts.seed === undefined ? 0 : checkInt('seed', opts.seed, 0, 0xffffffff);
  return {
    preset: name,
    size,
    classes: p.classes,
    train,
    val,
    maxObjects: p.maxObjects,
    minRadius: Math.max(4, size / 50),
    maxRadius: 0.45 * size,
    seed,
  };
}
