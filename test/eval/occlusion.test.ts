/**
 * eval/occlusion.ts: the per-image occlusion ratio, all three definitions.
 *  - Hand-computed images: two boxes half overlapping, three stacked boxes, nested boxes (with full and with modal
 *    masks), a crowd box that must be ignored, a single box, no boxes.
 *  - unionArea against pixel counting on random integer rectangles.
 *  - On ../shared/coco/val2014_100: every ratio in [0, 1]; with boxes rounded to whole pixels the exact box ratio
 *    equals the RLE-based mask ratio whose masks are those boxes (two independent computations); the mask variant
 *    runs on the real polygon / RLE segmentations.
 */
import { describe, expect, it } from 'vitest';
import { CocoDataset } from '../../eval/coco.js';
import { decode, encode, area as rleArea, toBbox } from '../../src/structures/rle.js';
import { frBbox, frPoly } from '../../src/structures/rle-polygon.js';
import {
  boxOcclusionRatio,
  imageOcclusionRatio,
  imageOcclusionRatios,
  maskOcclusionRatio,
  pairwiseOcclusionRatio,
  unionArea,
  type OcclusionDefinition,
} from '../../eval/occlusion.js';
import { Rng } from '../../src/nn/rng.js';
import { describeShared, sharedPath } from './shared-coco.js';

type Box = [number, number, number, number];

/** A one-image COCO dataset whose masks are the boxes themselves (as polygons), optionally with crowd boxes. */
function dataset(boxes: Box[], crowd: Box[] = [], size = 40): CocoDataset {
  const poly = ([x, y, w, h]: Box) => [[x, y, x, y + h, x + w, y + h, x + w, y]];
  let id = 1;
  const ann = (b: Box, iscrowd: 0 | 1) => ({ id: id++, image_id: 7, category_id: 1 + (id % 2), bbox: b, area: b[2] * b[3], iscrowd, segmentation: poly(b) });
  return CocoDataset.fromJson({
    images: [{ id: 7, width: size, height: size }, { id: 8, width: size, height: size }],
    categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
    annotations: [...boxes.map((b) => ann(b, 0)), ...crowd.map((b) => ann(b, 1))],
  });
}

const flat = (boxes: Box[]) => boxes.flat();

describe('occlusion ratio: hand-computed images', () => {
  // expected [box, pairwise, mask (masks = the boxes)]
  const cases: { name: string; boxes: Box[]; expected: [number, number, number] }[] = [
    // each box has half of its area under the other: (50 + 50) / 200; pairwise counts the overlap once: 50 / 200
    { name: 'two boxes half overlapping', boxes: [[0, 0, 10, 10], [5, 0, 10, 10]], expected: [0.5, 0.25, 0.5] },
    // A (y 0–10), B (5–15), C (10–20): A covered 50, B covered 100 (by A and C), C covered 50 → 200 / 300;
    // pairwise: A∩B 50 + B∩C 50 (A and C only touch) → 100 / 300
    { name: 'three stacked boxes', boxes: [[0, 0, 10, 10], [0, 5, 10, 10], [0, 10, 10, 10]], expected: [2 / 3, 1 / 3, 2 / 3] },
    // inner 10×10 inside outer 20×20: outer covered 100, inner covered 100 → 200 / 500; pairwise 100 / 500
    { name: 'nested boxes', boxes: [[0, 0, 20, 20], [5, 5, 10, 10]], expected: [0.4, 0.2, 0.4] },
    { name: 'a single box', boxes: [[3, 4, 10, 12]], expected: [0, 0, 0] },
    { name: 'no boxes', boxes: [], expected: [0, 0, 0] },
    // disjoint boxes
    { name: 'two disjoint boxes', boxes: [[0, 0, 5, 5], [10, 10, 5, 5]], expected: [0, 0, 0] },
    // three identical boxes: each fully covered → 1; pairwise 3·100 / 300 = 1 (the cap is not reached)
    { name: 'three identical boxes', boxes: [[2, 2, 10, 10], [2, 2, 10, 10], [2, 2, 10, 10]], expected: [1, 1, 1] },
    // four identical boxes: pairwise 6·100 / 400 = 1.5, capped at 1
    { name: 'four identical boxes (pairwise capped)', boxes: [[2, 2, 10, 10], [2, 2, 10, 10], [2, 2, 10, 10], [2, 2, 10, 10]], expected: [1, 1, 1] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(boxOcclusionRatio(flat(c.boxes))).toBeCloseTo(c.expected[0], 12);
      expect(pairwiseOcclusionRatio(flat(c.boxes))).toBeCloseTo(c.expected[1], 12);
      const masks = c.boxes.map((b) => frBbox(b, 40, 40));
      expect(maskOcclusionRatio(flat(c.boxes), masks, 40, 40)).toBeCloseTo(c.expected[2], 12);
      // the dataset helper gives the same, per definition
      const ds = dataset(c.boxes);
      const defs: OcclusionDefinition[] = ['box', 'pairwise', 'mask'];
      defs.forEach((d, i) => expect(imageOcclusionRatio(ds, 7, d)).toBeCloseTo(c.expected[i]!, 12));
    });
  }

  it('crowd boxes are ignored (all three definitions)', () => {
    const boxes: Box[] = [[0, 0, 10, 10], [5, 0, 10, 10]];
    const ds = dataset(boxes, [[0, 0, 40, 40], [2, 2, 5, 5]]);
    const r = imageOcclusionRatios(ds, 'box');
    expect(r.get(7)).toBeCloseTo(0.5, 12);
    expect(r.get(8)).toBe(0); // an image without annotations
    expect(imageOcclusionRatios(ds, 'pairwise').get(7)).toBeCloseTo(0.25, 12);
    expect(imageOcclusionRatios(ds, 'mask').get(7)).toBeCloseTo(0.5, 12);
    // one non-crowd box under a crowd region: still a single instance
    expect(imageOcclusionRatio(dataset([[0, 0, 10, 10]], [[0, 0, 40, 40]]), 7, 'box')).toBe(0);
  });

  it('mask variant with modal masks: an occluder hides part of the occluded box, not the other way round', () => {
    // the outer object is visible only around the inner one (a modal mask with a hole); the inner object is whole.
    // outer box ∩ inner mask = 100 px; inner box ∩ outer's visible mask = 0 → 100 / (400 + 100)
    const outer = frPoly([0, 0, 0, 20, 20, 20, 20, 0], 40, 40);
    const inner = frPoly([5, 5, 5, 15, 15, 15, 15, 5], 40, 40);
    expect(rleArea(inner)).toBe(100);
    // the outer object's visible pixels: its box without the inner box (column-major bitmap)
    const outerVisible = (() => {
      const m = new Uint8Array(40 * 40);
      for (let x = 0; x < 20; x++) for (let y = 0; y < 20; y++) if (!(x >= 5 && x < 15 && y >= 5 && y < 15)) m[x * 40 + y] = 1;
      return m;
    })();
    const outerRle = encode(outerVisible, 40, 40, 'col');
    expect(rleArea(outerRle)).toBe(300);
    expect(maskOcclusionRatio([0, 0, 20, 20, 5, 5, 10, 10], [outerRle, inner], 40, 40)).toBeCloseTo(100 / 500, 12);
    // with the full (amodal) outer mask it is the box answer again
    expect(maskOcclusionRatio([0, 0, 20, 20, 5, 5, 10, 10], [outer, inner], 40, 40)).toBeCloseTo(0.4, 12);
  });

  it('rejects mismatched inputs with a clear message', () => {
    expect(() => maskOcclusionRatio([0, 0, 1, 1], [], 4, 4)).toThrow(/1 boxes but 0 masks/);
    expect(() => maskOcclusionRatio([0, 0, 1, 1, 0, 0, 1, 1], [frBbox([0, 0, 1, 1], 4, 4), frBbox([0, 0, 1, 1], 5, 4)], 4, 4)).toThrow(/mask 1 is 5x4/);
    expect(() => imageOcclusionRatios(dataset([]), 'volume' as OcclusionDefinition)).toThrow(/unknown occlusion definition 'volume'/);
  });

  it('a GT annotation without a segmentation: the mask variant names the file, record and field', () => {
    const ds = CocoDataset.fromJson(
      {
        images: [{ id: 1, width: 10, height: 10 }],
        categories: [{ id: 1, name: 'a' }],
        annotations: [
          { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16 },
          { id: 2, image_id: 1, category_id: 1, bbox: [2, 2, 4, 4], area: 16 },
        ],
      },
      'nosegm.json',
    );
    expect(imageOcclusionRatios(ds, 'box').get(1)).toBeCloseTo(8 / 32, 12);
    expect(() => imageOcclusionRatios(ds, 'mask')).toThrow(/nosegm\.json: annotations\[0\] \(id 1, image 1\)\.segmentation: missing/);
  });
});

describe('mask variant against pixel counting', () => {
  it('random images, sparse and crowded (both code paths), equal the bitmap computation', () => {
    const rng = new Rng(23);
    const H = 30;
    const W = 36;
    let crowded = 0;
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + rng.int(11);
      const boxes: number[] = [];
      const masks = [];
      const bits: Uint8Array[] = [];
      const spread = trial % 2 ? 0.3 : 1; // every other image crowded into a corner
      for (let k = 0; k < n; k++) {
        const w = 2 + rng.uniform() * 14;
        const h = 2 + rng.uniform() * 12;
        const x = rng.uniform() * (W - w) * spread;
        const y = rng.uniform() * (H - h) * spread;
        boxes.push(x, y, w, h);
        // the mask: a triangle inside the box (a modal-looking shape, smaller than the box)
        const m = frPoly([x, y + h, x + w * rng.uniform(), y, x + w, y + h * (0.5 + 0.5 * rng.uniform())], H, W);
        masks.push(m);
        bits.push(decode(m));
      }
      let total = 0;
      let covered = 0;
      let pairs = 0;
      for (let i = 0; i < n; i++) {
        const r = decode(frBbox(boxes.slice(4 * i, 4 * i + 4), H, W));
        for (let p = 0; p < H * W; p++) {
          if (!r[p]) continue;
          total++;
          if (bits.some((b, j) => j !== i && b[p])) covered++;
        }
        // the code takes its crowded path when more than 3n (box, other mask) pixel extents meet
        const [bx, by, bw, bh] = toBbox(frBbox(boxes.slice(4 * i, 4 * i + 4), H, W));
        for (let j = 0; j < n; j++) {
          const [mx, my, mw, mh] = toBbox(masks[j]!);
          if (j !== i && bw > 0 && mw > 0 && bx < mx + mw && mx < bx + bw && by < my + mh && my < by + bh) pairs++;
        }
      }
      if (pairs > 3 * n) crowded++;
      expect(maskOcclusionRatio(boxes, masks, H, W), `trial ${trial}`).toBeCloseTo(total ? covered / total : 0, 12);
    }
    expect(crowded).toBeGreaterThan(5);
    expect(crowded).toBeLessThan(35);
  });
});

describe('unionArea', () => {
  it('equals pixel counting on random integer rectangles', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + rng.int(9);
      const rects: number[] = [];
      const grid = new Uint8Array(32 * 32);
      for (let k = 0; k < n; k++) {
        const x1 = rng.int(30);
        const y1 = rng.int(30);
        const x2 = x1 + rng.int(32 - x1);
        const y2 = y1 + rng.int(32 - y1);
        rects.push(x1, y1, x2, y2);
        for (let x = x1; x < x2; x++) for (let y = y1; y < y2; y++) grid[x * 32 + y] = 1;
      }
      expect(unionArea(rects)).toBe(grid.reduce((s, v) => s + v, 0));
    }
  });

  it('boxOcclusionRatio scales with the image (continuous coordinates)', () => {
    const boxes = [0.5, 0.25, 3.5, 2, 2.25, 1, 4, 4.5, 1, 3, 2, 0.75];
    const scaled = boxes.map((v) => v * 8);
    expect(boxOcclusionRatio(scaled)).toBeCloseTo(boxOcclusionRatio(boxes), 12);
  });
});

describeShared('occlusion ratios on val2014_100', () => {
  const gt = CocoDataset.fromFile(sharedPath('val2014_100/instances_val2014_100.json'));

  it('every image has r in [0, 1] for each definition; images with < 2 instances have 0', () => {
    for (const def of ['box', 'pairwise', 'mask'] as const) {
      const r = imageOcclusionRatios(gt, def);
      expect(r.size).toBe(100);
      for (const [id, v] of r) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        if (gt.annsByImage(id).filter((a) => !a.iscrowd).length < 2) expect(v).toBe(0);
      }
      expect([...r.values()].some((v) => v > 0.5)).toBe(true);
    }
  });

  it('with whole-pixel boxes, the exact box ratio equals the RLE mask ratio of those boxes', () => {
    let checked = 0;
    for (const id of gt.getImgIds()) {
      const img = gt.images.get(id)!;
      const boxes = gt.annsByImage(id).filter((a) => !a.iscrowd).map((a) => {
        const x = Math.round(a.bbox[0]);
        const y = Math.round(a.bbox[1]);
        return [x, y, Math.max(1, Math.round(a.bbox[0] + a.bbox[2]) - x), Math.max(1, Math.round(a.bbox[1] + a.bbox[3]) - y)] as Box;
      });
      const masks = boxes.map((b) => frBbox(b, img.height, img.width));
      // boxes that stick out of the image would be clipped by the rasteriser: keep images whose boxes fit
      if (!boxes.every((b, i) => rleArea(masks[i]!) === b[2] * b[3])) continue;
      expect(maskOcclusionRatio(flat(boxes), masks, img.height, img.width)).toBeCloseTo(boxOcclusionRatio(flat(boxes)), 12);
      checked++;
    }
    expect(checked).toBeGreaterThan(80);
  });
});
