/**
 * eval/coco.ts: loading the five real GT/results pairs of ../shared/coco with pycocotools 2.0.11 semantics, checked
 * against test/fixtures/eval/coco_reference.json.gz (made by tools/fixtures/coco_reference.py with pycocotools
 * 2.0.11): every GT mask (annToRLE, compressed counts), every loaded result's id/area/bbox (the bbox-area trap
 * included), and the box and mask IoU matrices of every (image, category) — all with tolerance 0. Then each kind
 * of bad input gives an error naming the file, the record and the field.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CocoDataset, CocoFormatError, type CocoAnnotation } from '../../eval/coco.js';
import { area } from '../../src/structures/rle.js';
import { bboxIou, rleIou } from '../../eval/iou.js';
import { frBbox, frPoly } from '../../src/structures/rle-polygon.js';
import { rleToString, toCompressed } from '../../src/structures/rle-string.js';
import { describeShared, PAIRS, REPO_ROOT, sharedPath } from './shared-coco.js';

interface RefResults {
  file: string;
  n: number;
  ids: number[];
  area: number[];
  bbox: number[][];
  mask_area: (number | null)[];
  iou: { image_id: number; category_id: number; bbox: number[]; segm: number[] }[];
}
interface RefPair {
  gt: string;
  n_images: number;
  n_categories: number;
  n_annotations: number;
  n_crowd: number;
  n_uncompressed_rle: number;
  img_ids: number[];
  cat_ids: number[];
  gt_rle: string[];
  results: RefResults[];
}
const REF = JSON.parse(
  gunzipSync(readFileSync(resolve(REPO_ROOT, 'test/fixtures/eval/coco_reference.json.gz'))).toString('utf8'),
) as { pairs: Record<keyof typeof PAIRS, RefPair> };

function packBoxes(anns: readonly CocoAnnotation[]): Float64Array {
  const out = new Float64Array(anns.length * 4);
  anns.forEach((a, i) => out.set(a.bbox, i * 4));
  return out;
}

describeShared('real COCO pairs vs pycocotools 2.0.11 (tolerance 0)', () => {
  it('val2014_100: 100 images, 80 categories, 839 annotations, 9 crowd with uncompressed RLE; 734 results each', () => {
    const gt = CocoDataset.fromFile(sharedPath(PAIRS.val2014_100.gt));
    expect(gt.images.size).toBe(100);
    expect(gt.categories.size).toBe(80);
    expect(gt.annotations).toHaveLength(839);
    const crowd = gt.annotations.filter((a) => a.iscrowd === 1);
    expect(crowd).toHaveLength(9);
    expect(crowd.every((a) => Array.isArray((a.segmentation as { counts: unknown }).counts))).toBe(true);
    expect(gt.getImgIds()[0]).toBe(42);
    expect(gt.getImgIds().at(-1)).toBe(1292);
    for (const f of PAIRS.val2014_100.results) {
      const res = gt.loadRes(sharedPath(f));
      expect(res.annotations).toHaveLength(734);
      expect(new Set(res.annotations.map((a) => a.image_id)).size).toBe(99);
    }
    const bbox = gt.loadRes(sharedPath(PAIRS.val2014_100.results[0]));
    const segm = gt.loadRes(sharedPath(PAIRS.val2014_100.results[1]));
    expect(bbox.resultsInfo).toMatchObject({ branch: 'bbox', count: 734, boxPolygons: 734, areaFromMask: 0 });
    expect(segm.resultsInfo).toMatchObject({ branch: 'segm', count: 734, boxPolygons: 0, areaFromMask: 734 });
  });

  for (const [name, pair] of Object.entries(PAIRS) as [keyof typeof PAIRS, (typeof PAIRS)[keyof typeof PAIRS]][]) {
    describe(name, () => {
      const ref = REF.pairs[name];
      const gt = CocoDataset.fromFile(sharedPath(pair.gt));

      it('ground truth: counts, sorted ids, every mask (annToRLE) exactly', () => {
        expect(gt.images.size).toBe(ref.n_images);
        expect(gt.categories.size).toBe(ref.n_categories);
        expect(gt.annotations).toHaveLength(ref.n_annotations);
        expect(gt.annotations.filter((a) => a.iscrowd).length).toBe(ref.n_crowd);
        expect(gt.getImgIds()).toEqual(ref.img_ids);
        expect(gt.getCatIds()).toEqual(ref.cat_ids);
        const got = gt.annotations.map((a) => rleToString(gt.rle(a)));
        expect(got).toEqual(ref.gt_rle);
        expect(gt.rle(gt.annotations[0]!)).toBe(gt.rle(gt.annotations[0]!)); // cached
      });

      pair.results.forEach((file, k) => {
        const r = ref.results[k]!;
        it(`${file}: loadRes ids, area, bbox as pycocotools (box area for bbox+mask results)`, () => {
          const res = gt.loadRes(sharedPath(file));
          expect(res.annotations.map((a) => a.id)).toEqual(r.ids);
          expect(res.annotations.map((a) => a.area)).toEqual(r.area);
          expect(res.annotations.map((a) => Array.from(a.bbox))).toEqual(r.bbox);
          expect(res.annotations.every((a) => a.iscrowd === 0)).toBe(true);
          expect(res.getImgIds()).toEqual(ref.img_ids); // results share the GT images, as pycocotools
          expect(res.getCatIds()).toEqual(ref.cat_ids);
        });

        it(`${file}: segmAreaFromBbox=false gives the mask area for results with a mask`, () => {
          const res = gt.loadRes(sharedPath(file), { segmAreaFromBbox: false });
          const want = r.mask_area.map((m, i) => (m === null ? r.area[i] : m));
          expect(res.annotations.map((a) => a.area)).toEqual(want);
          expect(res.annotations.map((a) => Array.from(a.bbox))).toEqual(r.bbox);
        });

        it(`${file}: box and mask IoU of every (image, category), bit-exact`, () => {
          const res = gt.loadRes(sharedPath(file));
          expect(r.iou.length).toBeGreaterThan(0);
          for (const e of r.iou) {
            const d = res.annsByImageCat(e.image_id, e.category_id);
            const g = gt.annsByImageCat(e.image_id, e.category_id);
            const crowd = g.map((a) => a.iscrowd);
            const tag = `${e.image_id}/${e.category_id}`;
            expect([tag, Array.from(bboxIou(packBoxes(d), packBoxes(g), crowd))]).toEqual([tag, e.bbox]);
            const segm = rleIou(
              d.map((a) => res.rle(a)),
              g.map((a) => gt.rle(a)),
              crowd,
            );
            expect([tag, Array.from(segm)]).toEqual([tag, e.segm]);
          }
        });
      });
    });
  }

  it('the segm area trap on a real detectron2 run (braintumor): box area by default, mask area on request', () => {
    const gt = CocoDataset.fromFile(sharedPath(PAIRS.braintumor_maskrcnn.gt));
    const file = sharedPath(PAIRS.braintumor_maskrcnn.results[0]);
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { bbox: number[] }[];
    const res = gt.loadRes(file);
    expect(res.resultsInfo).toMatchObject({ branch: 'bbox', count: 588, areaFromMask: 0, boxPolygons: 0 });
    res.annotations.forEach((a, i) => expect(a.area).toBe(raw[i]!.bbox[2]! * raw[i]!.bbox[3]!));
    const masks = gt.loadRes(file, { segmAreaFromBbox: false });
    expect(masks.resultsInfo).toMatchObject({ branch: 'bbox', areaFromMask: 588 });
    let differ = 0;
    masks.annotations.forEach((a, i) => {
      expect(a.area).toBe(area(masks.rle(a)));
      if (a.area !== res.annotations[i]!.area) differ++;
    });
    expect(differ).toBe(588); // a mask never fills its float box exactly
  });

  it('fce_small: polygon results keep their polygons; id, iscrowd and area are overwritten as pycocotools', () => {
    const gt = CocoDataset.fromFile(sharedPath(PAIRS.fce_small.gt));
    const file = sharedPath(PAIRS.fce_small.results[0]);
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { id: number; area: number; segmentation: number[][] }[];
    const res = gt.loadRes(file);
    expect(raw[0]!.id).toBe(21);
    expect(res.annotations.map((a) => a.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(res.annotations[0]!.area).toBe(109 * 111);
    expect(raw[0]!.area).toBe(8036);
    expect(res.annotations[0]!.segmentation).toEqual(raw[0]!.segmentation);
    const img = gt.images.get(res.annotations[0]!.image_id)!;
    expect(res.rle(res.annotations[0]!)).toEqual(frPoly(raw[0]!.segmentation[0]!, img.height, img.width));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Bad input: every case names the file, the record and the field

const TMP = mkdtempSync(join(tmpdir(), 'tiedet-coco-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function gtJson(): Record<string, unknown> {
  return {
    images: [
      { id: 1, width: 10, height: 8, file_name: 'a.jpg' },
      { id: 2, width: 6, height: 6 },
    ],
    categories: [
      { id: 1, name: 'cat' },
      { id: 3, name: 'dog' },
    ],
    annotations: [
      { id: 10, image_id: 1, category_id: 1, bbox: [1, 1, 3, 3], area: 9, iscrowd: 0, segmentation: [[1, 1, 1, 4, 4, 4, 4, 1]] },
      { id: 11, image_id: 2, category_id: 3, bbox: [0, 0, 2, 2], area: 4, segmentation: [[0, 0, 0, 2, 2, 2, 2, 0]] },
      { id: 12, image_id: 1, category_id: 3, bbox: [0, 0, 10, 8], area: 80, iscrowd: 1, segmentation: { size: [8, 10], counts: [0, 80] } },
    ],
  };
}

function writeTmp(name: string, content: string): string {
  const p = join(TMP, name);
  writeFileSync(p, content);
  return p;
}

function thrown(fn: () => unknown): CocoFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CocoFormatError);
    return e as CocoFormatError;
  }
  throw new Error('expected an error');
}

describe('CocoDataset: semantics and bad input', () => {
  it('indexes by image and (image, category) in file order; ids sorted; iscrowd defaults to 0', () => {
    const ds = CocoDataset.fromJson(gtJson(), 'gt.json');
    expect(ds.getImgIds()).toEqual([1, 2]);
    expect(ds.getCatIds()).toEqual([1, 3]);
    expect(ds.annsByImage(1).map((a) => a.id)).toEqual([10, 12]);
    expect(ds.annsByImageCat(1, 3).map((a) => a.id)).toEqual([12]);
    expect(ds.annsByImageCat(2, 1)).toEqual([]);
    expect(ds.annsByImage(99)).toEqual([]);
    expect(ds.annotations[1]!.iscrowd).toBe(0);
    expect(area(ds.rle(ds.annotations[2]!))).toBe(80);
    expect(area(ds.rle(ds.annotations[0]!))).toBe(9);
  });

  it('annotation file missing images / categories, or a results array given as GT', () => {
    const { images: _i, ...noImages } = gtJson();
    expect(thrown(() => CocoDataset.fromJson(noImages, 'gt.json')).message).toBe(
      "gt.json: missing 'images' (an annotation file needs its list of images)",
    );
    const { categories: _c, ...noCats } = gtJson();
    expect(thrown(() => CocoDataset.fromJson(noCats, 'gt.json')).message).toMatch(/^gt\.json: missing 'categories'/);
    expect(thrown(() => CocoDataset.fromJson([], 'r.json')).message).toMatch(/^r\.json: .*is this a results file/);
    const p = writeTmp('noimages.json', JSON.stringify(noImages));
    expect(thrown(() => CocoDataset.fromFile(p)).message).toBe(`${p}: missing 'images' (an annotation file needs its list of images)`);
  });

  it('missing file and invalid JSON name the file (and line/column)', () => {
    const missing = join(TMP, 'nope.json');
    expect(thrown(() => CocoDataset.fromFile(missing)).message).toMatch(new RegExp(`^${missing}: annotation file not found`));
    const bad = writeTmp('bad.json', '{\n  "images": [\n    {"id": 1,}\n  ]\n}');
    const e = thrown(() => CocoDataset.fromFile(bad));
    expect(e.file).toBe(bad);
    expect(e.message).toMatch(/invalid JSON/);
    expect(e.message).toMatch(/line 3, column 14/);
  });

  it('GT records: each bad field is named', () => {
    const cases: [(j: Record<string, any>) => void, RegExp][] = [
      [(j) => (j.images[1].width = 0), /^gt\.json: images\[1\]\.width: expected a positive integer, got number 0$/],
      [(j) => (j.images[1].id = 1), /^gt\.json: images\[1\]\.id: duplicate image id 1 \(also images\[0\]\)$/],
      [(j) => delete j.categories[0].name, /^gt\.json: categories\[0\]\.name: expected a string/],
      [(j) => (j.annotations[1].id = 10), /^gt\.json: annotations\[1\] \(id 10, image 2\)\.id: duplicate annotation id 10/],
      [(j) => (j.annotations[1].image_id = 7), /^gt\.json: annotations\[1\] \(id 11, image 7\)\.image_id: image 7 is not in 'images'$/],
      [(j) => (j.annotations[0].bbox = [1, 1, -3, 3]), /^gt\.json: annotations\[0\] \(id 10, image 1\)\.bbox: negative box size \(width -3, height 3\)$/],
      [(j) => (j.annotations[0].bbox = [1, 1, 3]), /annotations\[0\] \(id 10, image 1\)\.bbox: expected \[x, y, width, height\] with 4 finite numbers, got \[1, 1, 3\]/],
      [(j) => delete j.annotations[2].area, /annotations\[2\] \(id 12, image 1\)\.area: expected a non-negative number, got nothing \(missing\)/],
      [(j) => (j.annotations[2].iscrowd = 'yes'), /annotations\[2\] \(id 12, image 1\)\.iscrowd: expected 0, 1 or a boolean/],
      [(j) => (j.annotations[0].category_id = null), /annotations\[0\] \(id 10, image 1\)\.category_id: expected a number, got null/],
    ];
    for (const [mutate, re] of cases) {
      const j = gtJson() as Record<string, any>;
      mutate(j);
      expect(thrown(() => CocoDataset.fromJson(j, 'gt.json')).message).toMatch(re);
    }
  });

  it('polygons with < 3 points: error naming image and annotation when the mask is built; opt-in drop is counted', () => {
    const j = gtJson() as Record<string, any>;
    j.annotations[0].segmentation = [[1, 1, 1, 4, 4, 4, 4, 1], [5, 5, 6, 6]];
    const ds = CocoDataset.fromJson(j, 'gt.json'); // bbox evaluation never needs the mask
    const e = thrown(() => ds.rle(ds.annotations[0]!));
    expect(e.message).toBe(
      'gt.json: annotations[0] (id 10, image 1).segmentation[1]: polygon has 2 point(s) (4 coordinates); at least 3 points are needed' +
        ' (pycocotools rasterises it to nothing, or crashes when it is the first part) (image 8x10)',
    );
    expect(e.record).toBe('annotations[0] (id 10, image 1)');
    expect(e.field).toBe('segmentation[1]');
    const lenient = CocoDataset.fromJson(j, 'gt.json', { dropDegeneratePolygons: true });
    expect(area(lenient.rle(lenient.annotations[0]!))).toBe(9);
    expect(lenient.droppedPolygons).toBe(1);
    // other segmentation problems, also lazily
    j.annotations[1].segmentation = { size: [6, 7], counts: 'PQ' };
    j.annotations[2].segmentation = [];
    const ds2 = CocoDataset.fromJson(j, 'gt.json');
    expect(thrown(() => ds2.rle(ds2.annotations[1]!)).message).toMatch(
      /annotations\[1\] \(id 11, image 2\)\.segmentation\.size: RLE size \[6, 7\] differs from the image size \[height 6, width 6\]/,
    );
    expect(thrown(() => ds2.rle(ds2.annotations[2]!)).message).toMatch(/annotations\[2\] \(id 12, image 1\)\.segmentation: empty polygon list/);
    delete j.annotations[2].segmentation;
    const ds3 = CocoDataset.fromJson(j, 'gt.json');
    expect(thrown(() => ds3.rle(ds3.annotations[2]!)).message).toMatch(/annotations\[2\] \(id 12, image 1\)\.segmentation: missing/);
  });

  it('results: image not in GT, NaN / missing score, negative box, wrong types — named by index and field', () => {
    const gt = CocoDataset.fromJson(gtJson(), 'gt.json');
    const ok = { image_id: 1, category_id: 1, bbox: [0, 0, 2, 2], score: 0.5 };
    const cases: [unknown[], RegExp][] = [
      [[ok, { ...ok, image_id: 99 }], /^<results>: results\[1\]\.image_id: image 99 is not an image of gt\.json \(pycocotools: "Results do not correspond to current coco set"\)$/],
      [[ok, { ...ok, image_id: '1' }], /^<results>: results\[1\]\.image_id: expected a number, got the string "1"$/],
      [[{ ...ok, score: Number.NaN }], /^<results>: results\[0\] \(image 1\)\.score: expected a finite number, got number NaN$/],
      [[ok, ok, { image_id: 2, category_id: 1, bbox: [0, 0, 1, 1] }], /^<results>: results\[2\] \(image 2\)\.score: missing/],
      [[ok, { ...ok, bbox: [0, 0, 2, -1] }], /^<results>: results\[1\] \(image 1\)\.bbox: negative box size \(width 2, height -1\)$/],
      [[ok, { image_id: 1, category_id: 1, score: 0.1, segmentation: [[0, 0, 1, 0, 1, 1]] }], /results\[1\] \(image 1\)\.bbox: missing \(results\[0\] has 'bbox'/],
      [[{ ...ok, category_id: 'cat' }], /results\[0\] \(image 1\)\.category_id: expected a number/],
      [[42], /^<results>: results\[0\]: expected an object, got number 42$/],
      [[{ image_id: 1, category_id: 1, score: 1 }], /results\[0\]: has neither 'bbox' nor 'segmentation'/],
      [[{ image_id: 1, category_id: 1, score: 1, keypoints: [1, 2, 2] }], /results\[0\]\.keypoints: keypoint results are not supported/],
      [[{ image_id: 1, caption: 'a cat' }], /results\[0\]\.caption: caption results are not supported/],
    ];
    for (const [res, re] of cases) expect(thrown(() => gt.loadRes(res)).message).toMatch(re);
    expect(thrown(() => gt.loadRes({} as unknown as unknown[])).message).toMatch(/results must be a JSON array/);
  });

  it('results: mask problems are found while loading (the area needs the mask) and name record and field', () => {
    const gt = CocoDataset.fromJson(gtJson(), 'gt.json');
    const seg = { image_id: 2, category_id: 1, score: 0.5 };
    const cases: [unknown[], RegExp][] = [
      [[{ ...seg, segmentation: [[0, 0, 4, 4]] }], /results\[0\] \(image 2\)\.segmentation\[0\]: polygon has 2 point\(s\)/],
      [[{ ...seg, segmentation: { size: [6, 6], counts: 'abc~' } }], /results\[0\] \(image 2\)\.segmentation\.counts: .*character "~" at position 3/],
      [[{ ...seg, segmentation: { size: [8, 10], counts: '0' } }], /results\[0\] \(image 2\)\.segmentation\.size: RLE size \[8, 10\] differs from the image size \[height 6, width 6\]/],
      [[{ ...seg, segmentation: { size: [6, 6], counts: 'T1' } }, { ...seg }], /results\[1\] \(image 2\)\.segmentation: missing \(results\[0\] is a mask result/],
    ];
    for (const [res, re] of cases) expect(thrown(() => gt.loadRes(res)).message).toMatch(re);
    // in a bbox-branch file a bad mask is found when the mask is needed (segm evaluation), as in pycocotools
    const lazy = gt.loadRes([{ ...seg, bbox: [0, 0, 1, 1], segmentation: [[0, 0, 4, 4]] }]);
    expect(thrown(() => lazy.rle(lazy.annotations[0]!)).message).toMatch(/^<results>: results\[0\] \(id 1, image 2\)\.segmentation\[0\]: polygon has 2/);
  });

  it('results file with Python NaN literals: error names file, record and field', () => {
    const p = writeTmp('nan.json', '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5},\n {"image_id": 2, "category_id": 3, "bbox": [0, 0, 1, 1], "score": NaN}]');
    const gt = CocoDataset.fromJson(gtJson(), 'gt.json');
    const e = thrown(() => gt.loadRes(p));
    expect(e.message).toBe(`${p}: results[1] (image 2).score: expected a finite number, got number NaN`);
    const p2 = writeTmp('inf.json', '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -Infinity, 1], "score": 1, "note": "NaN in a string is fine"}]');
    expect(thrown(() => gt.loadRes(p2)).message).toMatch(/results\[0\] \(image 1\)\.bbox: expected \[x, y, width, height\] with 4 finite numbers/);
  });

  it('empty results: a results dataset with no detections (pycocotools raises IndexError)', () => {
    const gt = CocoDataset.fromJson(gtJson(), 'gt.json');
    const res = gt.loadRes(writeTmp('empty.json', '[]'));
    expect(res.annotations).toEqual([]);
    expect(res.resultsInfo).toMatchObject({ branch: 'empty', count: 0 });
    expect(res.getImgIds()).toEqual([1, 2]);
    expect(res.getCatIds()).toEqual([1, 3]);
    expect(res.annsByImageCat(1, 1)).toEqual([]);
  });

  it('loadRes semantics: ids, iscrowd, box polygon, segm-branch bbox from toBbox, input untouched, unknown categories counted', () => {
    const gt = CocoDataset.fromJson(gtJson(), 'gt.json');
    const input = [
      { image_id: 1, category_id: 1, bbox: [1.5, 2, 3, 4.25], score: 0.9, id: 77, iscrowd: 1 },
      { image_id: 2, category_id: 5, bbox: [0, 0, 2, 2], score: 0.3, segmentation: toCompressed(frBbox([0, 0, 6, 6], 6, 6)) },
    ];
    const snapshot = JSON.stringify(input);
    const res = gt.loadRes(input);
    expect(JSON.stringify(input)).toBe(snapshot);
    const [a, b] = res.annotations as [CocoAnnotation, CocoAnnotation];
    expect([a.id, a.iscrowd, a.area]).toEqual([1, 0, 3 * 4.25]);
    expect(a.segmentation).toEqual([[1.5, 2, 1.5, 6.25, 4.5, 6.25, 4.5, 2]]);
    expect([b.id, b.area]).toEqual([2, 4]); // box area, not the mask's 36 — pycocotools' trap
    expect(res.resultsInfo).toMatchObject({ branch: 'bbox', unknownCategory: 1, boxPolygons: 1 });
    expect(gt.loadRes(input, { segmAreaFromBbox: false }).annotations[1]!.area).toBe(36);
    // segm branch: bbox from the mask when absent, kept when given
    const segm = gt.loadRes([
      { image_id: 2, category_id: 1, score: 0.3, segmentation: toCompressed(frBbox([1, 0.5, 4, 3], 6, 6)) },
      { image_id: 2, category_id: 1, score: 0.3, segmentation: [[1, 1, 1, 3, 3, 3, 3, 1]], bbox: [9, 9, 1, 1] },
    ]);
    expect(segm.resultsInfo).toMatchObject({ branch: 'segm', areaFromMask: 2 });
    expect(segm.annotations[0]!.bbox).toEqual([1, 1, 4, 3]);
    expect(segm.annotations[0]!.area).toBe(12);
    expect(segm.annotations[1]!.bbox).toEqual([9, 9, 1, 1]);
    expect(segm.annotations[1]!.area).toBe(4);
  });
});
