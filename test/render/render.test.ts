/**
 * tools/render/render.ts and browse.ts end to end (in process) on a small synthetic COCO case written to a temp
 * folder: only detections at or above the threshold are drawn, an image without detections is written unchanged and
 * listed, bbox mode draws boxes only, side-by-side panels, per-image AP equal to evaluating that image alone, and
 * bad input (missing image, malformed RLE, a results file that is not COCO results) → clear errors, or skipped and
 * counted under onBad 'skip'.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage, writeImage, type RgbImage } from '../../data/image.js';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval } from '../../eval/cocoeval.js';
import { encode, type Rle } from '../../src/structures/rle.js';
import { rleToString } from '../../src/structures/rle-string.js';
import { browseDataset } from '../../tools/render/browse.js';
import { categoryColor, drawInstances, GT_STYLE, PREDICTION_STYLE, sideBySide } from '../../tools/render/draw.js';
import { outputNames } from '../../tools/render/job.js';
import { gtInstances, renderResults, type RenderOptions } from '../../tools/render/render.js';

const W = 48;
const H = 40;

function pattern(seed: number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    data[3 * i] = (i * 7 + seed * 50) & 255;
    data[3 * i + 1] = (i * 3 + 90) & 255;
    data[3 * i + 2] = (seed * 80 + (i % W) * 4) & 255;
  }
  return { data, width: W, height: H };
}

/** RLE of the rectangle of pixels x0…x1, y0…y1 (inclusive). */
function rectRle(x0: number, y0: number, x1: number, y1: number): Rle {
  const m = new Uint8Array(W * H);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * W + x] = 1;
  return encode(m, H, W, 'row');
}
const rleJson = (r: Rle) => ({ size: [H, W], counts: rleToString(r) });

const dir = mkdtempSync(join(tmpdir(), 'tiedet-render-'));
const imagesDir = join(dir, 'images');
const gtFile = join(dir, 'gt.json');
const resultsFile = join(dir, 'dets.json');
const inputs = new Map<number, RgbImage>();
const R0 = rectRle(6, 6, 19, 19); // image 1, cat, 0.9 — drawn
const R1 = rectRle(28, 22, 40, 35); // image 1, dog, 0.3 — below the threshold
const R2 = rectRle(10, 12, 30, 30); // image 2, dog, 0.8
const results = [
  { image_id: 1, category_id: 1, score: 0.9, bbox: [6, 6, 14, 14], segmentation: rleJson(R0) },
  { image_id: 1, category_id: 2, score: 0.3, bbox: [28, 22, 13, 14], segmentation: rleJson(R1) },
  { image_id: 2, category_id: 2, score: 0.8, bbox: [10, 12, 21, 19], segmentation: rleJson(R2) },
];
const gtJson = {
  images: [
    { id: 1, file_name: 'a.png', width: W, height: H },
    { id: 2, file_name: 'sub/b.png', width: W, height: H },
    { id: 3, file_name: 'c.png', width: W, height: H },
  ],
  categories: [
    { id: 1, name: 'cat' },
    { id: 2, name: 'dog' },
  ],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [5, 5, 15, 15], area: 225, iscrowd: 0, segmentation: [[5, 5, 5, 20, 20, 20, 20, 5]] },
    { id: 2, image_id: 1, category_id: 2, bbox: [12, 10, 20, 20], area: 400, iscrowd: 0, segmentation: [[12, 10, 12, 30, 32, 30, 32, 10]] },
    { id: 3, image_id: 2, category_id: 2, bbox: [10, 12, 20, 18], area: 360, iscrowd: 0, segmentation: [[10, 12, 10, 30, 30, 30, 30, 12]] },
  ],
};

function write(name: string, value: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
  return f;
}

beforeAll(async () => {
  for (const img of gtJson.images) {
    const p = pattern(img.id);
    inputs.set(img.id, p);
    await writeImage(join(imagesDir, img.file_name), p);
  }
  write('gt.json', gtJson);
  write('dets.json', results);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// an explicit threshold of 0.5 (the default is DEFAULT_SCORE_THR = 0.3): the fixture's 0.3 detection stays undrawn
const base = (out: string): RenderOptions => ({ images: imagesDir, results: resultsFile, gt: gtFile, out: join(dir, out), progressEvery: 0, scoreThr: 0.5 });

function galleryRows(html: string): { id: number; ap: string; href: string }[] {
  return [...html.matchAll(/<tr data-index="\d+"[^>]*data-id="(\d+)"[^>]*data-ap="([^"]*)"[^>]*><td class="thumb"><a href="([^"]+)"/g)].map((m) => ({
    id: Number(m[1]),
    ap: m[2]!,
    href: m[3]!,
  }));
}

describe('tiedet render (logic)', () => {
  it('draws the detections at or above the threshold, writes images without detections unchanged, lists every image', async () => {
    const s = await renderResults(base('out-segm'));
    expect(s.iouType).toBe('segm'); // auto: the results have masks
    expect(s.rendered).toBe(3);
    expect(s.detectionsDrawn).toBe(2);
    const a = await readImage(join(dir, 'out-segm', 'a.png'));
    const expected = drawInstances(inputs.get(1)!, [{ color: categoryColor(1), box: [6, 6, 14, 14], mask: R0, label: 'cat 0.90' }], PREDICTION_STYLE).image;
    expect(Buffer.from(a.data).equals(Buffer.from(expected.data))).toBe(true);
    // the 0.3 detection is not drawn: its region is unchanged
    const src = inputs.get(1)!;
    for (let y = 22; y <= 35; y++) {
      for (let x = 28; x <= 40; x++) {
        const p = (y * W + x) * 3;
        expect([a.data[p], a.data[p + 1], a.data[p + 2]]).toEqual([src.data[p], src.data[p + 1], src.data[p + 2]]);
      }
    }
    // sub-folders are kept; an image with no detections is written unchanged
    await readImage(join(dir, 'out-segm', 'sub', 'b.png'));
    const c = await readImage(join(dir, 'out-segm', 'c.png'));
    expect(Buffer.from(c.data).equals(Buffer.from(inputs.get(3)!.data))).toBe(true);
    const rows = galleryRows(readFileSync(s.gallery, 'utf8'));
    expect(rows.map((r) => r.href)).toEqual(['a.png', 'sub/b.png', 'c.png']);
    expect(rows[2]!.ap).toBe(''); // image 3 has no ground truth
  });

  it('gives each image the AP of evaluating that image alone', async () => {
    const s = await renderResults({ ...base('out-ap'), scoreThr: 0.95 });
    const rows = galleryRows(readFileSync(s.gallery, 'utf8'));
    const gt = CocoDataset.fromFile(gtFile);
    for (const id of [1, 2]) {
      const E = new CocoEval(gt, gt.loadRes(resultsFile), 'segm');
      E.params.imgIds = [id];
      E.evaluate();
      const ap = E.summarize(E.accumulate()).stats[0]!;
      expect(Number(rows.find((r) => r.id === id)!.ap)).toBe(ap);
    }
    const E = new CocoEval(gt, gt.loadRes(resultsFile), 'segm');
    E.evaluate();
    expect(s.ap).toBe(E.summarize(E.accumulate()).stats[0]);
  });

  it('draws boxes only with iouType bbox', async () => {
    await renderResults({ ...base('out-bbox'), iouType: 'bbox' });
    const a = await readImage(join(dir, 'out-bbox', 'a.png'));
    const expected = drawInstances(inputs.get(1)!, [{ color: categoryColor(1), box: [6, 6, 14, 14], label: 'cat 0.90' }], PREDICTION_STYLE).image;
    expect(Buffer.from(a.data).equals(Buffer.from(expected.data))).toBe(true);
  });

  it('puts the ground truth left and the predictions right, with the AP in a caption strip', async () => {
    await renderResults({ ...base('out-sbs'), sideBySide: true });
    const out = await readImage(join(dir, 'out-sbs', 'a.png'));
    const gt = CocoDataset.fromFile(gtFile);
    const left = drawInstances(inputs.get(1)!, gtInstances(gt, 1, 'category', true), GT_STYLE).image;
    const right = drawInstances(inputs.get(1)!, [{ color: categoryColor(1), box: [6, 6, 14, 14], mask: R0, label: 'cat 0.90' }], PREDICTION_STYLE).image;
    const E = new CocoEval(gt, gt.loadRes(resultsFile), 'segm');
    E.params.imgIds = [1];
    E.evaluate();
    const ap = E.summarize(E.accumulate()).stats[0]!.toFixed(3);
    const expected = sideBySide(left, right, ['ground truth: 2 instances', `1 detection ≥ 0.5 · segm AP ${ap}`]);
    expect(out.width).toBe(2 * W + 4);
    expect(out.height).toBe(expected.height);
    expect(out.height).toBeGreaterThan(H);
    expect(Buffer.from(out.data).equals(Buffer.from(expected.data))).toBe(true);
    await renderResults({ ...base('out-sbs-jpeg'), sideBySide: true, format: 'jpeg' });
    const j = await readImage(join(dir, 'out-sbs-jpeg', 'a.jpg'));
    expect([j.width, j.height]).toEqual([out.width, out.height]);
  });

  it('stops at a missing image file naming it, or skips and counts it', async () => {
    const gt2 = write('gt-missing.json', { ...gtJson, images: [...gtJson.images, { id: 4, file_name: 'missing.png', width: W, height: H }] });
    await expect(renderResults({ ...base('out-missing'), gt: gt2 })).rejects.toThrow(/missing\.png: image file not found \(image 4 of .*gt-missing\.json\)/);
    const s = await renderResults({ ...base('out-missing-skip'), gt: gt2, onBad: 'skip' });
    expect(s.rendered).toBe(3);
    expect(s.skippedImages).toHaveLength(1);
    expect(s.skippedImages[0]!.reason).toMatch(/missing\.png/);
    expect(readFileSync(s.gallery, 'utf8')).toMatch(/Skipped \(1\)[\s\S]*missing\.png/);
  });

  it('reports a malformed RLE with file, record and field, or skips and counts the record', async () => {
    const bad = results.map((r) => ({ ...r, segmentation: { ...r.segmentation } }));
    bad[2]!.segmentation.counts = 'not an RLE ~~~';
    const f = write('dets-bad-rle.json', bad);
    await expect(renderResults({ ...base('out-rle'), results: f })).rejects.toThrow(/dets-bad-rle\.json: results\[2\] \((id 3, )?image 2\)\.segmentation\.counts: .*malformed/);
    const sized = results.map((r) => ({ ...r }));
    sized[1] = { ...sized[1]!, segmentation: { size: [H + 1, W], counts: rleToString(R1) } };
    const f2 = write('dets-bad-size.json', sized);
    await expect(renderResults({ ...base('out-rle2'), results: f2 })).rejects.toThrow(/dets-bad-size\.json: results\[1\] \((id 2, )?image 1\)\.segmentation\.size: RLE size/);
    const s = await renderResults({ ...base('out-rle-skip'), results: f, onBad: 'skip' });
    expect(s.skippedResults).toHaveLength(1);
    expect(s.skippedResults[0]!.reason).toMatch(/results\[2\] \(image 2\)\.segmentation\.counts/);
    expect(s.rendered).toBe(3);
    expect(s.detectionsDrawn).toBe(1);
  });

  it('rejects a results file that is not COCO results', async () => {
    const f = write('not-results.json', gtJson);
    await expect(renderResults({ ...base('out-x'), results: f })).rejects.toThrow(/not-results\.json: results must be a JSON array of detections, got an object \(an annotation file\?\)/);
    const g = write('numbers.json', [1, 2, 3]);
    await expect(renderResults({ ...base('out-y'), results: g })).rejects.toThrow(/numbers\.json: results\[0\]: expected an object/);
    const h = write('broken.json', '[{"image_id": 1,');
    await expect(renderResults({ ...base('out-z'), results: h })).rejects.toThrow(/broken\.json: invalid JSON/);
    const k = write('unknown-image.json', [{ ...results[0], image_id: 99 }]);
    await expect(renderResults({ ...base('out-w'), results: k })).rejects.toThrow(/unknown-image\.json: results\[0\]\.image_id: image 99 is not an image of/);
    const boxes = write('boxes.json', [{ image_id: 1, category_id: 1, score: 0.9, bbox: [1, 1, 5, 5] }]);
    await expect(renderResults({ ...base('out-v'), results: boxes, iouType: 'segm' })).rejects.toThrow(/no result carries a 'segmentation' mask; use --iou-type bbox/);
  });

  it('reports progress every N images and rejects unknown --img-ids', async () => {
    const lines: string[] = [];
    await renderResults({ ...base('out-progress'), progressEvery: 1, log: (l) => lines.push(l), imgIds: [3, 1, 2], maxImages: 2 });
    expect(lines).toHaveLength(1); // after image 1 of 2 (no line for the last one)
    expect(lines[0]).toMatch(/^render: 1\/2 images \(\d+\.\d images\/s\)$/);
    await expect(renderResults({ ...base('out-ids'), imgIds: [1, 5] })).rejects.toThrow(/--img-ids: image 5 is not in .*gt\.json/);
  });

  it('refuses to write over the input images', async () => {
    await expect(renderResults({ ...base('x'), out: imagesDir })).rejects.toThrow(/would overwrite the input image a\.png/);
  });
});

describe('tiedet browse-dataset (logic)', () => {
  it('draws the ground truth with the GT style, masks from polygons', async () => {
    const s = await browseDataset({ gt: gtFile, images: imagesDir, out: join(dir, 'browse'), progressEvery: 0 });
    expect(s.rendered).toBe(3);
    expect(s.instances).toBe(3);
    const a = await readImage(join(dir, 'browse', 'a.png'));
    const gt = CocoDataset.fromFile(gtFile);
    const expected = drawInstances(inputs.get(1)!, gtInstances(gt, 1, 'category', true), GT_STYLE).image;
    expect(Buffer.from(a.data).equals(Buffer.from(expected.data))).toBe(true);
    const html = readFileSync(s.gallery, 'utf8');
    expect(html.match(/<tr data-index/g)).toHaveLength(3);
    expect(html).not.toMatch(/data-ap=/);
  });

  it('skips and counts a malformed annotation mask under onBad skip (the box is still drawn)', async () => {
    const bad = structuredClone(gtJson);
    bad.annotations[1]!.segmentation = [[12, 10, 12]];
    const f = write('gt-bad-poly.json', bad);
    await expect(browseDataset({ gt: f, images: imagesDir, out: join(dir, 'browse-bad') })).rejects.toThrow(
      /gt-bad-poly\.json: annotations\[1\] \(id 2, image 1\)\.segmentation\[0\]: polygon has an odd number/,
    );
    const s = await browseDataset({ gt: f, images: imagesDir, out: join(dir, 'browse-bad-skip'), onBad: 'skip' });
    expect(s.skippedAnnotations).toHaveLength(1);
    expect(s.rendered).toBe(3);
  });

  it('keeps names unique and inside the output folder', async () => {
    const tricky = {
      ...gtJson,
      images: [
        { id: 1, file_name: 'a.png', width: W, height: H },
        { id: 2, file_name: 'a.jpg', width: W, height: H },
      ],
      annotations: [],
    };
    mkdirSync(join(imagesDir), { recursive: true });
    await writeImage(join(imagesDir, 'a.jpg'), inputs.get(2)!);
    const f = write('gt-tricky.json', tricky);
    const s = await browseDataset({ gt: f, images: imagesDir, out: join(dir, 'browse-tricky') });
    const html = readFileSync(s.gallery, 'utf8');
    expect(html).toContain('href="a.png"');
    expect(html).toContain('href="a_id2.png"');
    const names = outputNames(
      [
        { id: 1, fileName: '../../etc/x.jpg' },
        { id: 2, fileName: '/abs/dir/y.jpeg' },
        { id: 3, fileName: './val/z.JPG' },
        { id: 4, fileName: 'val/Z.png' },
        { id: 5, fileName: 'noext' },
      ],
      'jpeg',
    );
    expect([...names.values()]).toEqual(['x.jpg', 'y.jpg', 'val/z.jpg', 'val/Z_id4.jpg', 'noext.jpg']);
  });
});
