/**
 * Shared by the torchvision parity tests: the fixture (tools/fixtures/torchvision_detectors.py), the small models
 * with its weights, and the comparison of one image's detections with torchvision's.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImage } from '../../../data/image.js';
import type { Detection } from '../../../detectors/detector.js';
import type { TvInputImage } from '../../../detectors/torchvision/transform.js';
import { decode, type Rle } from '../../../src/structures/rle.js';
import { rleFromString } from '../../../src/structures/rle-string.js';

export const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'torchvision');

export interface TvImageOutputs {
  file: string;
  originalSize: [number, number];
  resizedSize: [number, number];
  paddedSize: [number, number];
  boxes: number[];
  scores: number[];
  labels: number[];
  masks?: string[];
  proposals?: number;
}

export interface TvOutputs {
  minSize: number;
  maxSize: number;
  maskrcnn: TvImageOutputs[];
  retinanet: TvImageOutputs[];
}

export function loadOutputs(): TvOutputs {
  return JSON.parse(readFileSync(join(FIXTURE, 'outputs.json'), 'utf8')) as TvOutputs;
}

export async function loadImage(file: string, imageId: number): Promise<TvInputImage> {
  const path = join(FIXTURE, 'images', file);
  const im = await readImage(path);
  return { data: im.data, width: im.width, height: im.height, imageId, file: path };
}

export interface Comparison {
  /** torchvision's detection count, tiedet's, and how many of torchvision's were matched. */
  counts: { torchvision: number; tiedet: number; matched: number };
  /**
   * Unmatched torchvision detections explained as a near-tie swap: a tiedet-only detection of the same label whose
   * score is within `TIE_SCORE` and whose box overlaps it with IoU > `TIE_IOU` (the two were NMS rivals; which one
   * survives is decided by a score difference below float32 noise).
   */
  swaps: number;
  /**
   * Unmatched detections (either side) that are neither a swap nor what a swap causes downstream (a detection
   * suppressed on one side by the other side's rival, or moved across the detections_per_img cut). Without any
   * swap every unmatched detection counts. Must be 0.
   */
  unexplained: number;
  maxBoxDiff: number;
  maxScoreDiff: number;
  minMaskIou: number;
  labelsEqual: boolean;
}

/** Scores this close are a tie within float32 noise (~1e-7 relative after different summation orders). */
export const TIE_SCORE = 1e-6;
/** NMS rivals: above the presets' per-class NMS threshold (0.5). */
export const TIE_IOU = 0.5;

function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const u = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return u > 0 ? inter / u : 0;
}

/** IoU of two binary masks given as RLEs of the same size. */
export function maskIou(a: Rle, b: Rle): number {
  const x = decode(a);
  const y = decode(b);
  let inter = 0;
  let uni = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] && y[i]) inter++;
    if (x[i] || y[i]) uni++;
  }
  return uni === 0 ? 1 : inter / uni;
}

/**
 * Match each torchvision detection to the tiedet detection with the same label and the closest box (the lists are
 * both score-sorted; equal scores may come in another order), and measure the differences.
 */
export function compare(ref: TvImageOutputs, det: Detection): Comparison {
  const n = ref.scores.length;
  const k = det.scores.length;
  const used = new Uint8Array(k);
  const refUsed = new Uint8Array(n);
  let maxBoxDiff = 0;
  let maxScoreDiff = 0;
  let minMaskIou = 1;
  let matched = 0;
  let labelsEqual = true;
  const [h, w] = ref.originalSize;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < k; j++) {
      if (used[j] || det.labels[j] !== ref.labels[i]) continue;
      let d = 0;
      for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(det.boxes[4 * j + c]! - ref.boxes[4 * i + c]!));
      d = Math.max(d, Math.abs(det.scores[j]! - ref.scores[i]!) * 1e3);
      if (d < bestD) [best, bestD] = [j, d];
    }
    if (best < 0 || bestD > 1) {
      labelsEqual &&= best >= 0;
      continue;
    }
    used[best] = 1;
    refUsed[i] = 1;
    matched++;
    for (let c = 0; c < 4; c++) maxBoxDiff = Math.max(maxBoxDiff, Math.abs(det.boxes[4 * best + c]! - ref.boxes[4 * i + c]!));
    maxScoreDiff = Math.max(maxScoreDiff, Math.abs(det.scores[best]! - ref.scores[i]!));
    if (ref.masks && det.masks) {
      const a = rleFromString(ref.masks[i]!, h, w);
      const b = rleFromString(det.masks[best]!.counts, h, w);
      minMaskIou = Math.min(minMaskIou, maskIou(a, b));
    }
  }
  // Pair the leftovers as near-tie swaps.
  const refLeft = Array.from({ length: n }, (_, i) => i).filter((i) => !refUsed[i]);
  const detLeft = Array.from({ length: k }, (_, j) => j).filter((j) => !used[j]);
  const refBox = (i: number) => ref.boxes.slice(4 * i, 4 * i + 4);
  const detBox = (j: number) => Array.from(det.boxes.subarray(4 * j, 4 * j + 4));
  const taken = new Uint8Array(k);
  let swaps = 0;
  for (const i of refLeft) {
    const j = detLeft.find(
      (j) => !taken[j] && det.labels[j] === ref.labels[i] && Math.abs(det.scores[j]! - ref.scores[i]!) <= TIE_SCORE && boxIou(detBox(j), refBox(i)) > TIE_IOU,
    );
    if (j !== undefined) {
      taken[j] = 1;
      swaps++;
    }
  }
  // What follows a swap: a detection kept on one side only because the other side kept a different rival that
  // suppressed it (same label, IoU > TIE_IOU, score at least its own), or one that entered / left at the tail of a
  // full list (score within TIE_SCORE of the last one kept there).
  const refMin = n > 0 ? ref.scores[n - 1]! : 0;
  const detMin = k > 0 ? det.scores[k - 1]! : 0;
  let cascade = 0;
  for (const i of refLeft) {
    const suppressed = detLeft.some((j) => det.labels[j] === ref.labels[i] && det.scores[j]! >= ref.scores[i]! - TIE_SCORE && boxIou(detBox(j), refBox(i)) > TIE_IOU);
    if (suppressed || ref.scores[i]! <= detMin + TIE_SCORE) cascade++;
  }
  for (const j of detLeft) {
    const suppressed = refLeft.some((i) => det.labels[j] === ref.labels[i] && ref.scores[i]! >= det.scores[j]! - TIE_SCORE && boxIou(detBox(j), refBox(i)) > TIE_IOU);
    if (suppressed || det.scores[j]! <= refMin + TIE_SCORE) cascade++;
  }
  const unexplained = swaps > 0 ? refLeft.length + detLeft.length - cascade : refLeft.length + detLeft.length;
  return { counts: { torchvision: n, tiedet: k, matched }, swaps, unexplained, maxBoxDiff, maxScoreDiff, minMaskIou, labelsEqual };
}
