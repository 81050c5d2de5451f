/**
 * One synthetic image with its COCO annotations: placement (placement.ts) → background (backgrounds.ts) → each
 * object's visible pixels painted with its texture (textures.ts) → one modal mask per object as COCO RLE
 * (src/structures/rle.ts `encode` of the visible pixels; `bbox` = `toBbox`, `area` = `area` of that RLE, as pycocotools
 * computes them), the amodal box and area of the whole shape, and the image's occlusion ratio
 * (eval/occlusion.ts `boxOcclusionRatio` over the modal boxes, the way the occlusion report measures it).
 */
import type { Rng } from '../../src/nn/rng.js';
import { area as rleArea, encode, toBbox, type CompressedRle } from '../../src/structures/rle.js';
import { toCompressed } from '../../src/structures/rle-string.js';
import { boxOcclusionRatio } from '../../eval/occlusion.js';
import type { RgbImage } from '../image.js';
import { paintBackground, type BackgroundKind } from './backgrounds.js';
import { colourDistance, randomColour, type ColourRange, type Rgb } from './colour.js';
import type { Placer } from './placement.js';
import { paintTexture, sampleTexture, type TextureKind } from './textures.js';

/** Saturated, not too dark: objects stand out from the muted backgrounds. */
export const OBJECT_COLOURS: ColourRange = { sMin: 0.35, sMax: 1, vMin: 0.35, vMax: 1 };
/** An object's main colour differs from the background mean by at least this (RGB distance) when possible. */
const MIN_BACKGROUND_CONTRAST = 90;
/** … and from the main colours of the objects below it by at least this. */
const MIN_OBJECT_CONTRAST = 50;
const COLOUR_TRIES = 30;

export interface SceneObject {
  /** Index into the generator's class list. */
  classIndex: number;
  /** Modal mask (visible pixels), compressed COCO RLE. */
  segmentation: CompressedRle;
  /** Visible pixel count (`area` of the RLE). */
  area: number;
  /** Tight box [x, y, w, h] of the visible pixels (`toBbox` of the RLE). */
  bbox: [number, number, number, number];
  /** Tight box [x, y, w, h] of the whole shape. */
  amodalBbox: [number, number, number, number];
  /** Pixel count of the whole shape. */
  amodalArea: number;
  texture: TextureKind;
}

export interface Scene {
  image: RgbImage;
  /** Bottom to top (painting order). */
  objects: SceneObject[];
  /** boxOcclusionRatio of the modal boxes. */
  occlusionRatio: number;
  targetBin: number;
  /** Whether the ratio landed in `targetBin`. */
  hit: boolean;
  background: BackgroundKind;
}

/** A colour from `range` at least `minToBg` from `bg` and `minToOthers` from every colour in `others` (if found). */
function distinctColour(rng: Rng, range: ColourRange, bg: Rgb, others: readonly Rgb[], minToBg: number, minToOthers: number): Rgb {
  let c = randomColour(rng, range);
  for (let t = 1; t < COLOUR_TRIES; t++) {
    if (colourDistance(c, bg) >= minToBg && others.every((o) => colourDistance(c, o) >= minToOthers)) break;
    c = randomColour(rng, range);
  }
  return c;
}

/** Renders one image aimed at occlusion bin `targetBin`, drawing every random choice from `rng`. */
export function renderScene(placer: Placer, rng: Rng, targetBin: number): Scene {
  const placement = placer.place(rng, targetBin);
  const { width: W, height: H } = placer;
  const data = new Uint8Array(W * H * 3);
  const bg = paintBackground(rng, data, W, H);
  const labels = placement.labels;
  const mains: Rgb[] = [];
  const mask = new Uint8Array(W * H);
  const objects: SceneObject[] = [];
  placement.objects.forEach((obj, k) => {
    const a = distinctColour(rng, OBJECT_COLOURS, bg.mean, mains, MIN_BACKGROUND_CONTRAST, MIN_OBJECT_CONTRAST);
    const b = distinctColour(rng, OBJECT_COLOURS, a, [], 70, 0);
    mains.push(a);
    const texture = sampleTexture(rng, a, b, obj.radius);
    const [bx, by, bw, bh] = obj.amodal;
    const id = k + 1;
    paintTexture(texture, data, labels, W, id, obj.amodal);
    for (let y = by; y < by + bh; y++) {
      for (let p = y * W + bx, e = p + bw; p < e; p++) if (labels[p] === id) mask[p] = 1;
    }
    const rle = encode(mask, H, W, 'row');
    for (let y = by; y < by + bh; y++) mask.fill(0, y * W + bx, y * W + bx + bw);
    const area = rleArea(rle);
    if (area !== placement.visible[k]) {
      throw new Error(`synthetic scene: object ${k} has ${area} mask pixels but ${placement.visible[k]} visible (internal error)`);
    }
    objects.push({
      classIndex: obj.classIndex,
      segmentation: toCompressed(rle),
      area,
      bbox: toBbox(rle),
      amodalBbox: obj.amodal,
      amodalArea: obj.fullArea,
      texture: texture.kind,
    });
  });
  const boxes = objects.flatMap((o) => o.bbox);
  return {
    image: { data, width: W, height: H },
    objects,
    occlusionRatio: boxOcclusionRatio(boxes),
    targetBin,
    hit: placement.hit,
    background: bg.kind,
  };
}
