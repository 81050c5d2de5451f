/** Transforms against hand-computed numbers (mmcv rounding, mmdet flip, padding) and their inverse. */
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/structures/rle.js';
import { frPoly } from '../../src/structures/rle-polygon.js';
import { flipBitmaps, flipBoxes, flipImage, flipPolygon } from '../../data/transforms/flip.js';
import { boxesToOriginal, maskToOriginal } from '../../data/transforms/inverse.js';
import { xyxyToXywh } from '../../src/ops/boxes.js';
import { segmentationsToBitmaps } from '../../data/transforms/masks.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeImage } from '../../data/transforms/normalize.js';
import { batchPadSize, padHwc, padSize } from '../../data/transforms/pad.js';
import { rescaleBoxes, rescaleSize, resizeBilinear, resizeNearest } from '../../data/transforms/resize.js';

describe('rescaleSize (mmcv rescale_size, scale (1333, 800))', () => {
  it('640×480 → 1067×800: s = min(1333/640, 800/480) = 5/3, int(640·5/3 + 0.5) = 1067', () => {
    const r = rescaleSize(640, 480);
    expect([r.width, r.height]).toEqual([1067, 800]);
    expect(r.scaleFactor[0]).toBeCloseTo(1067 / 640, 12);
    expect(r.scaleFactor[1]).toBeCloseTo(800 / 480, 12);
  });
  it('portrait, long and tiny images', () => {
    expect(rescaleSize(480, 640)).toMatchObject({ width: 800, height: 1067 }); // the rule is orientation-free
    // s = min(1333/1000, 800/200) = 1.333 → 1333 × int(266.6 + 0.5) = 267: the long side limits
    expect(rescaleSize(1000, 200)).toMatchObject({ width: 1333, height: 267 });
    expect(rescaleSize(128, 128)).toMatchObject({ width: 800, height: 800 });
    expect(rescaleSize(64, 48, [256, 256])).toMatchObject({ width: 256, height: 192 });
    expect(() => rescaleSize(0, 10)).toThrow(/invalid image size/);
  });
  it('boxes are scaled by the per-axis factors and clipped to the resized image', () => {
    const b = rescaleBoxes(Float32Array.of(10, 20, 650, 470), [1067 / 640, 800 / 480], 1067, 800);
    expect(b[0]).toBeCloseTo(16.671875, 4);
    expect(b[1]).toBeCloseTo(33.3333, 4);
    expect(b[2]).toBe(1067);
    expect(b[3]).toBeCloseTo(783.3333, 3);
  });
});

describe('resizeBilinear (OpenCV INTER_LINEAR geometry, 11-bit weights)', () => {
  const row = (values: number[]) => ({ data: Uint8Array.from(values.flatMap((v) => [v, v, v])), width: values.length, height: 1 });
  const gray = (img: { data: Uint8Array }) => Array.from(img.data.filter((_, i) => i % 3 === 0));
  it('upsamples [0, 255] to [0, 64, 191, 255] (half-pixel centres, clamped borders)', () => {
    expect(gray(resizeBilinear(row([0, 255]), 4, 1))).toEqual([0, 64, 191, 255]);
  });
  it('downsamples [0, 100, 200, 255] to [50, 228]', () => {
    expect(gray(resizeBilinear(row([0, 100, 200, 255]), 2, 1))).toEqual([50, 228]);
  });
  it('works in both axes and keeps a constant image constant', () => {
    const c = { data: new Uint8Array(5 * 3 * 3).fill(77), width: 5, height: 3 };
    const r = resizeBilinear(c, 8, 7);
    expect(r.data.length).toBe(8 * 7 * 3);
    expect(r.data.every((v) => v === 77)).toBe(true);
    // vertical ramp 0, 255 → 4 rows
    const v = { data: Uint8Array.of(0, 0, 0, 255, 255, 255), width: 1, height: 2 };
    expect(gray(resizeBilinear(v, 1, 4))).toEqual([0, 64, 191, 255]);
  });
  it('resizeNearest picks floor(d · src / dst)', () => {
    expect(Array.from(resizeNearest(Uint8Array.of(1, 2, 3), 3, 1, 6, 1))).toEqual([1, 1, 2, 2, 3, 3]);
    expect(Array.from(resizeNearest(Uint8Array.of(1, 2, 3, 4), 4, 1, 2, 1))).toEqual([1, 3]);
  });
});

describe('flip (mmdet 3.x horizontal)', () => {
  it('box: x1\' = W − x2, x2\' = W − x1', () => {
    expect(Array.from(flipBoxes(Float32Array.of(10, 20, 30, 40), 100))).toEqual([70, 20, 90, 40]);
  });
  it('polygon: x\' = W − x', () => {
    expect(flipPolygon([10, 20, 30, 20, 30, 40], 100)).toEqual([90, 20, 70, 20, 70, 40]);
  });
  it('a flipped polygon rasterises to the mirrored bitmap of the polygon', () => {
    const poly = [1, 1, 4, 1, 4, 3, 1, 3];
    const a = decode(frPoly(poly, 5, 6), 'row');
    const b = decode(frPoly(flipPolygon(poly, 6), 5, 6), 'row');
    expect(Array.from(flipBitmaps(a, 6, 5))).toEqual(Array.from(b));
  });
  it('image and bitmaps are mirrored per row', () => {
    const img = { data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), width: 2, height: 2 };
    expect(Array.from(flipImage(img).data)).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
    expect(Array.from(flipBitmaps(Uint8Array.of(1, 0, 0, 0, 1, 1), 3, 1, 2))).toEqual([0, 0, 1, 1, 1, 0]);
  });
});

describe('normalize and pad', () => {
  it('(v − mean) / std per RGB channel', () => {
    const img = { data: Uint8Array.of(0, 0, 0, 255, 128, 10), width: 2, height: 1 };
    const out = normalizeImage(img);
    const expected = [0, 0, 0, 255, 128, 10].map((v, i) => (v - IMAGENET_MEAN[i % 3]!) / IMAGENET_STD[i % 3]!);
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    expect(out[0]).toBeCloseTo(-2.1179, 4);
  });
  it('pads to multiples of 32 (1067×800 → 1088×800; 800×1067 → 800×1088) and batches to the largest', () => {
    expect(padSize(1067, 800)).toEqual({ width: 1088, height: 800 });
    expect(padSize(800, 1067)).toEqual({ width: 800, height: 1088 });
    expect(padSize(1333, 267)).toEqual({ width: 1344, height: 288 });
    expect(padSize(64, 64)).toEqual({ width: 64, height: 64 });
    expect(batchPadSize([{ width: 1067, height: 800 }, { width: 1333, height: 750 }])).toEqual({ width: 1344, height: 800 });
  });
  it('padHwc keeps the image top-left and fills the rest', () => {
    const p = padHwc(Float32Array.of(1, 2, 3, 4), 2, 2, 1, 3, 3);
    expect(Array.from(p)).toEqual([1, 2, 0, 3, 4, 0, 0, 0, 0]);
    expect(() => padHwc(Float32Array.of(1), 1, 1, 1, 0, 1)).toThrow(/smaller/);
  });
  it('normalizeImage writes into a wider padded buffer', () => {
    const out = new Float32Array(3 * 2 * 3);
    normalizeImage({ data: new Uint8Array(6).fill(255), width: 2, height: 1 }, { out, outWidth: 3 });
    expect(out[6]).toBe(0); // third pixel of row 0 is padding
    expect(out[9]).toBe(0); // row 1 is padding
    expect(out[0]).toBeGreaterThan(2);
  });
});

describe('masks at the network-input size', () => {
  const target = { originalWidth: 4, originalHeight: 4, width: 8, height: 8 };
  it('a polygon is scaled and rasterised at the resized size', () => {
    const m = segmentationsToBitmaps([[[1, 1, 3, 1, 3, 3, 1, 3]]], target);
    const ref = decode(frPoly([2, 2, 6, 2, 6, 6, 2, 6], 8, 8), 'row');
    expect(Array.from(m)).toEqual(Array.from(ref));
    expect(m.reduce((a, v) => a + v, 0)).toBeGreaterThan(9);
  });
  it('an RLE is resized nearest-neighbour; flip and padding apply to both kinds', () => {
    const bm = new Uint8Array(16);
    bm[1 * 4 + 0] = 1; // (x 0, y 1)
    bm[2 * 4 + 3] = 1; // (x 3, y 2)
    const rle = encode(bm, 4, 4, 'row');
    const segm = { size: [4, 4], counts: Array.from(rle.counts) };
    const m = segmentationsToBitmaps([segm], { ...target, flip: true, padWidth: 10, padHeight: 9 });
    expect(m.length).toBe(90);
    const on: string[] = [];
    for (let y = 0; y < 9; y++) for (let x = 0; x < 10; x++) if (m[y * 10 + x]) on.push(`${x},${y}`);
    // upsampled 2×: (0,1) → x 0..1, y 2..3 → flipped in width 8: x 6..7; (3,2) → x 6..7, y 4..5 → x 0..1
    expect(on.sort()).toEqual(['0,4', '0,5', '1,4', '1,5', '6,2', '6,3', '7,2', '7,3'].sort());
  });
  it('bad segmentations name the index and field', () => {
    expect(() => segmentationsToBitmaps([[[0, 0, 1, 1, 2, 2]], [[1, 1, 2, 2]]], target)).toThrow(/segmentation\[1\]\[0\]: polygon has 2 point/);
  });
});

describe('inverse: network input → original coordinates', () => {
  const meta = (flipped: boolean) => {
    const r = rescaleSize(640, 480);
    return { originalSize: { width: 640, height: 480 }, resizedSize: { width: r.width, height: r.height }, scaleFactor: r.scaleFactor, flipped };
  };
  it('undoes resize and flip of boxes, clipping to the image', () => {
    for (const flipped of [false, true]) {
      const m = meta(flipped);
      const orig = Float32Array.of(10, 20, 300, 400, 0, 0, 640, 480);
      let b = rescaleBoxes(orig, m.scaleFactor, m.resizedSize.width, m.resizedSize.height);
      if (flipped) b = flipBoxes(b, m.resizedSize.width);
      const back = boxesToOriginal(b, m);
      back.forEach((v, i) => expect(v).toBeCloseTo(orig[i]!, 3));
    }
    const out = boxesToOriginal(Float32Array.of(-20, -5, 2000, 900), meta(false));
    expect(Array.from(out)).toEqual([0, 0, 640, 480]);
    expect(Array.from(xyxyToXywh(Float32Array.of(1, 2, 4, 8)))).toEqual([1, 2, 3, 6]);
  });
  it('a mask on the padded input maps back to the original size', () => {
    const m = { originalSize: { width: 4, height: 2 }, resizedSize: { width: 8, height: 4 }, scaleFactor: [2, 2] as [number, number], flipped: true };
    const padded = new Uint8Array(10 * 5);
    for (let y = 0; y < 2; y++) for (let x = 6; x < 8; x++) padded[y * 10 + x] = 1; // flipped: original x 0, y 0
    padded[4 * 10 + 9] = 1; // in the padding: ignored
    expect(Array.from(maskToOriginal(padded, 10, 5, m))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('pipeline = the transforms composed', () => {
  it('transformSample equals resize → flip → normalize → pad, boxes and masks alike', async () => {
    const { transformSample } = await import('../../data/pipeline.js');
    const w = 13;
    const h = 9;
    const decoded = { data: new Uint8Array(w * h * 3).map((_, i) => (i * 31) % 256), width: w, height: h };
    const segm = [[1, 1, 8, 1, 8, 6, 1, 6]];
    const task = {
      imageId: 1, file: 'x.png', width: w, height: h, boxes: Float32Array.of(1, 1, 8, 6), labels: Int32Array.of(0),
      ignoreBoxes: Float32Array.of(0, 0, 2, 2), segmentations: [segm], flip: true, scale: [40, 30] as const,
      padSize: { width: 64, height: 32 }, mean: IMAGENET_MEAN, std: IMAGENET_STD, maxPixels: 1e8,
    };
    const r = transformSample(task, decoded);
    const size = rescaleSize(w, h, [40, 30]);
    expect(r.meta.resizedSize).toEqual({ width: size.width, height: size.height });
    const img = flipImage(resizeBilinear(decoded, size.width, size.height));
    const expected = padHwc(normalizeImage(img), size.width, size.height, 3, 64, 32);
    expect(Buffer.from(r.image.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    expect(Array.from(r.boxes)).toEqual(Array.from(flipBoxes(rescaleBoxes(task.boxes, size.scaleFactor, size.width, size.height), size.width)));
    expect(Array.from(r.ignoreBoxes)).toEqual(Array.from(flipBoxes(rescaleBoxes(task.ignoreBoxes, size.scaleFactor, size.width, size.height), size.width)));
    const m = segmentationsToBitmaps([segm], { originalWidth: w, originalHeight: h, width: size.width, height: size.height, padWidth: 64, padHeight: 32 });
    const unflipped = r.masks!.slice();
    for (let y = 0; y < 32; y++) for (let x = 0; x < size.width; x++) unflipped[y * 64 + x] = r.masks![y * 64 + size.width - 1 - x]!;
    expect(Array.from(unflipped)).toEqual(Array.from(m));
  });
});
