/**
 * A COCO detection dataset (ground truth or results) with pycocotools 2.0.11 `COCO` semantics, for evaluation.
 *
 * - `CocoDataset.fromFile/fromJson` read an annotation file (`images`, `categories`, `annotations`) and validate
 *   what evaluation relies on; errors name the file, the record (`annotations[12] (id 345, image 42)`) and the field.
 * - `loadRes` reads detection results against this ground truth exactly as `COCO.loadRes` (ids 1..N in file
 *   order, `iscrowd = 0`, area/bbox/segmentation filled in the same way, including its bbox-area trap — see
 *   {@link LoadResOptions.segmAreaFromBbox}).
 * - `rle(ann)` is `COCO.annToRLE` with the image's height/width, cached per annotation.
 *
 * Pure TypeScript (Node `fs` for files only), no TF.js.
 */
import { CocoFormatError, readJsonFile } from './json.js';
import { annToRle, SegmentationError } from '../src/structures/segmentation.js';
import { area as rleArea, toBbox, type Rle } from '../src/structures/rle.js';

export { CocoFormatError } from './json.js';

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name?: string;
  [k: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0 | 1;
  segmentation?: unknown;
  score?: number;
  ignore?: number;
  [k: string]: unknown;
}

export interface CocoLoadOptions {
  /**
   * Polygon parts with fewer than 3 points are an error (naming the annotation) when a mask is built. With this
   * flag they are skipped and counted in {@link CocoDataset.droppedPolygons}; the masks then equal pycocotools'
   * wherever pycocotools does not crash (it rasterises such a part to nothing, or fails when it is the first).
   */
  dropDegeneratePolygons?: boolean;
}

export interface LoadResOptions extends CocoLoadOptions {
  /**
   * pycocotools picks ONE branch for the whole results list from the first record: when `results[0]` has a
   * non-empty `bbox`, every record is treated as a box result and gets `area = bbox[2] * bbox[3]` — also records
   * that carry a mask `segmentation` (detectron2 / mmdetection `segm` outputs do). COCOeval uses a detection's
   * `area` to ignore unmatched detections outside an area range, so in `segm` evaluation APs/APm/APl (and
   * ARs/m/l) are computed with the box area instead of the mask area.
   *
   * `true` (default) reproduces pycocotools 2.0.11. `false` computes `area` from the mask for every result that
   * carries its own segmentation (what mmdetection achieves by dropping `bbox` from segm results); box-only results
   * keep `w * h`, and `bbox` is kept as given.
   */
  segmAreaFromBbox?: boolean;
}

/** How `loadRes` read a results list. */
export interface LoadResInfo {
  /** Where the results came from (file path or '<results>'). */
  source: string;
  /** Which pycocotools branch applied: chosen by the first record ('empty' for an empty list). */
  branch: 'bbox' | 'segm' | 'empty';
  /** Number of results. */
  count: number;
  /** Results whose `category_id` is not a ground-truth category (kept; COCOeval never looks at them). */
  unknownCategory: number;
  /** Results whose `area` was computed from their mask. */
  areaFromMask: number;
  /** Results of the bbox branch that got the box polygon as segmentation (they had none). */
  boxPolygons: number;
}

type Rec = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** An array for a message: numbers as JavaScript prints them (Infinity and NaN stay visible; JSON would say null). */
function showArray(a: readonly unknown[]): string {
  const items = a.slice(0, 8).map((x) => (typeof x === 'number' ? String(x) : x === undefined ? 'undefined' : JSON.stringify(x) ?? String(x)));
  return `[${items.join(', ')}${a.length > 8 ? `, … (${a.length} items)` : ''}]`;
}

const isObject = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const EMPTY: readonly CocoAnnotation[] = Object.freeze([]);
const RESULT_KEYS = new Set(['id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd', 'segmentation', 'score']);

export class CocoDataset {
  readonly images: Map<number, CocoImage>;
  readonly categories: Map<number, CocoCategory>;
  readonly annotations: CocoAnnotation[];
  /** File path (or a label) used in error messages. */
  readonly source: string;
  /** Set on datasets made by {@link loadRes}. */
  readonly resultsInfo: LoadResInfo | undefined;

  private readonly recordName: string; // 'annotations' or 'results'
  private readonly annIndex = new Map<CocoAnnotation, number>();
  private readonly byImage = new Map<number, CocoAnnotation[]>();
  private readonly byImageCat = new Map<number, Map<number, CocoAnnotation[]>>();
  private rles: (Rle | undefined)[];
  private readonly options: CocoLoadOptions;
  private imgIds: number[] | undefined;
  private catIds: number[] | undefined;
  private dropped = 0;

  private constructor(
    source: string,
    images: Map<number, CocoImage>,
    categories: Map<number, CocoCategory>,
    annotations: CocoAnnotation[],
    options: CocoLoadOptions,
    recordName: string,
    resultsInfo?: LoadResInfo,
  ) {
    this.source = source;
    this.images = images;
    this.categories = categories;
    this.annotations = annotations;
    this.options = options;
    this.recordName = recordName;
    this.resultsInfo = resultsInfo;
    this.rles = new Array<Rle | undefined>(annotations.length);
    for (let i = 0; i < annotations.length; i++) {
      const a = annotations[i]!;
      this.annIndex.set(a, i);
      let list = this.byImage.get(a.image_id);
      if (!list) this.byImage.set(a.image_id, (list = []));
      list.push(a);
      let cats = this.byImageCat.get(a.image_id);
      if (!cats) this.byImageCat.set(a.image_id, (cats = new Map()));
      let l2 = cats.get(a.category_id);
      if (!l2) cats.set(a.category_id, (l2 = []));
      l2.push(a);
    }
  }

  /** Reads a COCO annotation file. Errors name the file, the record index and the field. */
  static fromFile(path: string, options: CocoLoadOptions = {}): CocoDataset {
    return CocoDataset.fromJson(readJsonFile(path, 'annotation file'), path, options);
  }

  /** Builds a dataset from parsed COCO JSON (`source` names it in errors). */
  static fromJson(json: unknown, source = '<annotations>', options: CocoLoadOptions = {}): CocoDataset {
    const fail = (record: string | undefined, field: string | undefined, reason: string): never => {
      throw new CocoFormatError(source, record, field, reason);
    };
    if (Array.isArray(json)) {
      fail(
        undefined,
        undefined,
        'expected an annotation file (an object with images, categories, annotations), got an array' +
          ' — is this a results file? Use loadRes for results',
      );
    }
    if (!isObject(json)) fail(undefined, undefined, `expected an annotation file object, got ${describe(json)}`);
    const root = json as Rec;

    // images
    const imagesRaw = root.images;
    if (imagesRaw === undefined) fail(undefined, undefined, "missing 'images' (an annotation file needs its list of images)");
    if (!Array.isArray(imagesRaw)) fail(undefined, 'images', `expected an array, got ${describe(imagesRaw)}`);
    const images = new Map<number, CocoImage>();
    const imageIndex = new Map<number, number>();
    (imagesRaw as unknown[]).forEach((img, i) => {
      const rec = `images[${i}]`;
      if (!isObject(img)) fail(rec, undefined, `expected an object, got ${describe(img)}`);
      const o = img as Rec;
      if (!isNum(o.id)) fail(rec, 'id', `expected a number, got ${describe(o.id)}`);
      for (const f of ['width', 'height'] as const) {
        const v = o[f];
        if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) fail(rec, f, `expected a positive integer, got ${describe(v)}`);
      }
      if ((o.width as number) * (o.height as number) > MAX_IMAGE_PIXELS) {
        fail(
          rec,
          (o.width as number) >= (o.height as number) ? 'width' : 'height',
          `image of ${String(o.width)}×${String(o.height)} pixels is over the limit of ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} pixels`,
        );
      }
      const id = o.id as number;
      const prev = imageIndex.get(id);
      if (prev !== undefined) fail(rec, 'id', `duplicate image id ${id} (also images[${prev}])`);
      imageIndex.set(id, i);
      images.set(id, o as CocoImage);
    });

    // categories
    const catsRaw = root.categories;
    if (catsRaw === undefined) fail(undefined, undefined, "missing 'categories'");
    if (!Array.isArray(catsRaw)) fail(undefined, 'categories', `expected an array, got ${describe(catsRaw)}`);
    const categories = new Map<number, CocoCategory>();
    const catIndex = new Map<number, number>();
    (catsRaw as unknown[]).forEach((cat, i) => {
      const rec = `categories[${i}]`;
      if (!isObject(cat)) fail(rec, undefined, `expected an object, got ${describe(cat)}`);
      const o = cat as Rec;
      if (!isNum(o.id)) fail(rec, 'id', `expected a number, got ${describe(o.id)}`);
      if (typeof o.name !== 'string') fail(rec, 'name', `expected a string, got ${describe(o.name)}`);
      const id = o.id as number;
      const prev = catIndex.get(id);
      if (prev !== undefined) fail(rec, 'id', `duplicate category id ${id} (also categories[${prev}])`);
      catIndex.set(id, i);
      categories.set(id, o as unknown as CocoCategory);
    });

    // annotations (a file without the key has none; pycocotools loads it the same way)
    const annsRaw = root.annotations ?? [];
    if (!Array.isArray(annsRaw)) fail(undefined, 'annotations', `expected an array, got ${describe(annsRaw)}`);
    const annotations: CocoAnnotation[] = new Array((annsRaw as unknown[]).length);
    const annIdIndex = new Map<number, number>();
    (annsRaw as unknown[]).forEach((ann, i) => {
      let rec = `annotations[${i}]`;
      if (!isObject(ann)) fail(rec, undefined, `expected an object, got ${describe(ann)}`);
      const o = ann as Rec;
      if (!isNum(o.id)) fail(rec, 'id', `expected a number, got ${describe(o.id)}`);
      const id = o.id as number;
      if (!isNum(o.image_id)) fail(rec, 'image_id', `expected a number, got ${describe(o.image_id)}`);
      rec = `annotations[${i}] (id ${id}, image ${String(o.image_id)})`;
      const prev = annIdIndex.get(id);
      if (prev !== undefined) {
        fail(rec, 'id', `duplicate annotation id ${id} (also annotations[${prev}]); pycocotools would silently evaluate one of them twice`);
      }
      annIdIndex.set(id, i);
      if (!images.has(o.image_id as number)) fail(rec, 'image_id', `image ${String(o.image_id)} is not in 'images'`);
      if (!isNum(o.category_id)) fail(rec, 'category_id', `expected a number, got ${describe(o.category_id)}`);
      checkBox(o.bbox, (why) => fail(rec, 'bbox', why), images.get(o.image_id as number));
      if (!isNum(o.area) || o.area < 0) fail(rec, 'area', `expected a non-negative number, got ${describe(o.area)}`);
      let iscrowd: 0 | 1 = 0;
      if (o.iscrowd !== undefined) {
        if (typeof o.iscrowd === 'boolean') iscrowd = o.iscrowd ? 1 : 0;
        else if (o.iscrowd === 0 || o.iscrowd === 1) iscrowd = o.iscrowd;
        else fail(rec, 'iscrowd', `expected 0, 1 or a boolean, got ${describe(o.iscrowd)}`);
      }
      annotations[i] = (o.iscrowd === iscrowd ? o : { ...o, iscrowd }) as CocoAnnotation;
    });
    return new CocoDataset(source, images, categories, annotations, options, 'annotations');
  }

  /** Image ids, sorted ascending (as COCOeval's `sorted(cocoGt.getImgIds())`). */
  getImgIds(): number[] {
    return (this.imgIds ??= [...this.images.keys()].sort((a, b) => a - b)).slice();
  }

  /** Category ids, sorted ascending (as COCOeval's `sorted(cocoGt.getCatIds())`). */
  getCatIds(): number[] {
    return (this.catIds ??= [...this.categories.keys()].sort((a, b) => a - b)).slice();
  }

  /** Annotations of one image and category, in file order (COCOeval's `_gts[img, cat]` / `_dts[img, cat]`). */
  annsByImageCat(imageId: number, catId: number): CocoAnnotation[] {
    return (this.byImageCat.get(imageId)?.get(catId) ?? EMPTY) as CocoAnnotation[];
  }

  /** Annotations of one image, in file order. Do not mutate the returned array. */
  annsByImage(imageId: number): CocoAnnotation[] {
    return (this.byImage.get(imageId) ?? EMPTY) as CocoAnnotation[];
  }

  /** Number of degenerate polygon parts skipped so far (only with `dropDegeneratePolygons`). */
  get droppedPolygons(): number {
    return this.dropped;
  }

  /** `record (id …, image …)` naming of an annotation of this dataset for error messages. */
  describeAnnotation(ann: CocoAnnotation): string {
    const i = this.annIndex.get(ann);
    const rec = i === undefined ? 'annotation' : this.recordIndexName(i);
    return `${rec} (id ${ann.id}, image ${ann.image_id})`;
  }

  private recordIndexName(i: number): string {
    return `${this.recordName}[${i}]`;
  }

  /**
   * The annotation's mask as an RLE on its image (pycocotools `annToRLE`), computed once and cached. Throws a
   * {@link CocoFormatError} naming the file, record and field when the segmentation is missing or malformed.
   */
  rle(ann: CocoAnnotation): Rle {
    const i = this.annIndex.get(ann);
    if (i === undefined) throw new Error(`${this.source}: rle(): annotation id ${ann.id} does not belong to this dataset`);
    const cached = this.rles[i];
    if (cached) return cached;
    const r = this.computeRle(ann, i);
    this.rles[i] = r;
    return r;
  }

  /** Drops all cached RLEs (they are rebuilt on demand). */
  clearRleCache(): void {
    this.rles = new Array<Rle | undefined>(this.annotations.length);
  }

  private computeRle(ann: CocoAnnotation, i: number): Rle {
    const rec = `${this.recordIndexName(i)} (id ${ann.id}, image ${ann.image_id})`;
    const img = this.images.get(ann.image_id)!;
    if (ann.segmentation === undefined) {
      throw new CocoFormatError(this.source, rec, 'segmentation', 'missing (segm evaluation needs a mask for every annotation)');
    }
    try {
      return annToRle(ann.segmentation, img.height, img.width, {
        dropDegeneratePolygons: this.options.dropDegeneratePolygons === true,
        onDrop: () => this.dropped++,
      });
    } catch (e) {
      if (e instanceof SegmentationError) {
        throw new CocoFormatError(this.source, rec, `segmentation${e.path}`, `${e.reason} (image ${img.height}x${img.width})`);
      }
      throw e;
    }
  }

  /**
   * Detection results against this ground truth, as pycocotools 2.0.11 `COCO.loadRes`:
   *
   * - `results` is a file path or an array of records `{image_id, category_id, score, bbox?, segmentation?}`;
   *   every `image_id` must be an image of this dataset (pycocotools asserts), `score` must be a finite number.
   * - The branch is chosen by the FIRST record: if it has a non-empty `bbox`, all records are box results:
   *   `area = w*h`, and those without `segmentation` get the box polygon `[[x1,y1, x1,y2, x2,y2, x2,y1]]`;
   *   otherwise, if it has `segmentation`, all are mask results: `area` = mask area, `bbox` = toBbox(mask) unless
   *   given. Mixed bbox+mask records (detectron2, mmdetection) therefore get the BOX area — see
   *   {@link LoadResOptions.segmAreaFromBbox} for the trap and the opt-out.
   * - `id` = 1..N in file order, `iscrowd` = 0 (overwriting what the file says); other fields are kept.
   * - An empty list (pycocotools raises IndexError) gives a results dataset with no annotations; evaluating it
   *   gives what pycocotools' code computes for zero detections: AP/AR 0 for every category with non-ignored
   *   ground truth, -1 where there is none.
   * - Caption and keypoint results are not supported (error). The returned dataset shares this dataset's images
   *   and copies its categories. Input objects are not modified.
   */
  loadRes(results: string | unknown[], opts: LoadResOptions = {}): CocoDataset {
    const source = typeof results === 'string' ? results : '<results>';
    const json: unknown = typeof results === 'string' ? readJsonFile(results, 'results file') : results;
    const fail = (record: string | undefined, field: string | undefined, reason: string): never => {
      throw new CocoFormatError(source, record, field, reason);
    };
    if (!Array.isArray(json)) {
      const hint = isObject(json) && 'annotations' in json ? ' (an annotation file?)' : '';
      fail(undefined, undefined, `results must be a JSON array of detections, got ${describe(json)}${hint}`);
    }
    const list = json as unknown[];
    const boxAreaForMasks = opts.segmAreaFromBbox !== false;
    const info: LoadResInfo = { source, branch: 'empty', count: list.length, unknownCategory: 0, areaFromMask: 0, boxPolygons: 0 };
    const categories = new Map(this.categories);
    if (list.length === 0) {
      return new CocoDataset(source, this.images, categories, [], { ...this.options, ...opts }, 'results', info);
    }
    const first = list[0];
    if (!isObject(first)) fail('results[0]', undefined, `expected an object, got ${describe(first)}`);
    const f0 = first as Rec;
    if ('caption' in f0) fail('results[0]', 'caption', 'caption results are not supported (detection results only)');
    const hasBox0 = f0.bbox !== undefined && !(Array.isArray(f0.bbox) && f0.bbox.length === 0);
    if (hasBox0) info.branch = 'bbox';
    else if (f0.segmentation !== undefined) info.branch = 'segm';
    else if ('keypoints' in f0) fail('results[0]', 'keypoints', 'keypoint results are not supported (detection results only)');
    else fail('results[0]', undefined, "has neither 'bbox' nor 'segmentation' (pycocotools picks the result type from the first record)");

    const anns: CocoAnnotation[] = new Array(list.length);
    const precomputed: (Rle | undefined)[] = new Array(list.length);
    const dropOpts = { dropDegeneratePolygons: opts.dropDegeneratePolygons ?? this.options.dropDegeneratePolygons === true };
    let dropped = 0;
    const maskOf = (segm: unknown, img: CocoImage, rec: string): Rle => {
      try {
        return annToRle(segm, img.height, img.width, { ...dropOpts, onDrop: () => dropped++ });
      } catch (e) {
        if (e instanceof SegmentationError) fail(rec, `segmentation${e.path}`, `${e.reason} (image ${img.height}x${img.width})`);
        throw e;
      }
    };
    for (let i = 0; i < list.length; i++) {
      let rec = `results[${i}]`;
      const r = list[i];
      if (!isObject(r)) fail(rec, undefined, `expected an object, got ${describe(r)}`);
      const o = r as Rec;
      if (!isNum(o.image_id)) fail(rec, 'image_id', `expected a number, got ${describe(o.image_id)}`);
      const img = this.images.get(o.image_id as number);
      if (!img) {
        fail(
          rec,
          'image_id',
          `image ${String(o.image_id)} is not an image of ${this.source}` +
            ' (pycocotools: "Results do not correspond to current coco set")',
        );
      }
      rec = `results[${i}] (image ${String(o.image_id)})`;
      if (!isNum(o.category_id)) fail(rec, 'category_id', `expected a number, got ${describe(o.category_id)}`);
      if (!this.categories.has(o.category_id as number)) info.unknownCategory++;
      if (o.score === undefined) fail(rec, 'score', 'missing (every detection needs a score)');
      if (!isNum(o.score)) fail(rec, 'score', `expected a finite number, got ${describe(o.score)}`);

      let bbox: [number, number, number, number];
      let areaValue: number;
      let segmentation: unknown = o.segmentation;
      if (info.branch === 'bbox') {
        if (o.bbox === undefined) {
          fail(rec, 'bbox', "missing (results[0] has 'bbox', so pycocotools treats every record as a box result)");
        }
        checkBox(o.bbox, (why) => fail(rec, 'bbox', why), img);
        bbox = o.bbox as [number, number, number, number];
        if (segmentation === undefined) {
          const x1 = bbox[0];
          const x2 = bbox[0] + bbox[2];
          const y1 = bbox[1];
          const y2 = bbox[1] + bbox[3];
          segmentation = [[x1, y1, x1, y2, x2, y2, x2, y1]];
          info.boxPolygons++;
          areaValue = bbox[2] * bbox[3];
        } else if (boxAreaForMasks) {
          areaValue = bbox[2] * bbox[3];
        } else {
          const m = maskOf(segmentation, img!, rec);
          precomputed[i] = m;
          areaValue = rleArea(m);
          info.areaFromMask++;
        }
      } else {
        if (segmentation === undefined) {
          fail(rec, 'segmentation', "missing (results[0] is a mask result, so pycocotools treats every record as one)");
        }
        const m = maskOf(segmentation, img!, rec);
        precomputed[i] = m;
        areaValue = rleArea(m);
        info.areaFromMask++;
        if (o.bbox === undefined || (Array.isArray(o.bbox) && o.bbox.length === 0)) {
          bbox = toBbox(m);
        } else {
          checkBox(o.bbox, (why) => fail(rec, 'bbox', why), img);
          bbox = o.bbox as [number, number, number, number];
        }
      }
      // one object shape for all results (fast property access in evaluation); other fields are kept
      const ann: CocoAnnotation = {
        id: i + 1,
        image_id: o.image_id as number,
        category_id: o.category_id as number,
        bbox,
        area: areaValue,
        iscrowd: 0,
        segmentation,
        score: o.score as number,
      };
      for (const key of Object.keys(o)) if (!RESULT_KEYS.has(key)) ann[key] = o[key];
      anns[i] = ann;
    }
    const ds = new CocoDataset(source, this.images, categories, anns, { ...this.options, ...dropOpts }, 'results', info);
    ds.rles = precomputed;
    ds.dropped = dropped;
    return ds;
  }
}

/**
 * How far outside its image a box may reach, in multiples of the image's longer side. Boxes a little outside the
 * image are normal (detectors that do not clip, annotation slop); coordinates thousands of image sizes away (1e200)
 * are a unit or parsing bug, and they overflow areas and occlusion ratios to Infinity / NaN later.
 */
export const MAX_BOX_EXTENT = 16;

/**
 * Images larger than this (width × height) are refused when the file is read: a COCO RLE counts pixels in 32 bits,
 * so no mask of a larger image can be encoded (evaluation never reads the pixels; the image reader's own, lower
 * limit applies when images are loaded — data/image.ts).
 */
export const MAX_IMAGE_PIXELS = 2 ** 32 - 1;

function checkBox(b: unknown, fail: (why: string) => never, img?: { width: number; height: number }): void {
  if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) {
    fail(`expected [x, y, width, height] with 4 finite numbers, got ${Array.isArray(b) ? showArray(b) : describe(b)}`);
  }
  const bb = b as number[];
  if (bb[2]! < 0 || bb[3]! < 0) fail(`negative box size (width ${bb[2]}, height ${bb[3]})`);
  if (img) {
    const lim = MAX_BOX_EXTENT * Math.max(img.width, img.height);
    if (bb.some((v) => Math.abs(v) > lim)) {
      fail(
        `box [${bb.join(', ')}] reaches more than ${MAX_BOX_EXTENT}× the image size (${img.width}×${img.height}) ` +
          `outside the image (|coordinate| ≤ ${lim}); wrong units?`,
      );
    }
  }
}
