/**
 * A COCO instance dataset prepared for training or testing, on top of eval/coco.ts (which parses the file and
 * keeps pycocotools' semantics), following mmdetection 3.x `CocoDataset`:
 *
 * - Labels: category ids mapped to contiguous labels 0..K−1 in ascending id order (`cat2label`).
 * - Per annotation (`parse_data_info`, training only): skipped when `ignore` is set, when the box does not overlap
 *   the image, or when `area <= 0` or the box is narrower / lower than `minBoxSize` (1 px). Crowd annotations
 *   become ignore boxes (`ignore_flag=1`), their masks are not kept.
 * - Per image (`filter_data`, training only): `filterEmptyGt` drops images without a usable (non-crowd) box — note
 *   mmdet also keeps images that have only crowd annotations; we do not, they give no positive sample — and
 *   `minSize` (32) drops images whose shorter side is smaller. Test mode keeps every image and annotation.
 * - Validation beyond eval/coco.ts, with `onBad: 'error'` (default: one `CocoFormatError` naming the file, the
 *   record and the field) or `'skip'` (the record is left out and counted in `skipped`): image records need a
 *   `file_name`; duplicate image / category ids make every record with that id unusable (which one would the
 *   annotations mean?), a duplicate annotation id drops the later record; annotations must point at a known image
 *   and category and have a valid box (no negative size); with `withMasks` the segmentation must be a valid polygon
 *   list (≥ 3 points each) or an RLE of the image's size. Invalid JSON or a wrong top-level structure is always an
 *   error (nothing can be skipped); a file without `annotations` (image info only) has none, as in eval/coco.ts.
 * - `checkImages` reads every image header (no decoding): missing files, unreadable headers, sizes different from
 *   the annotation's and images over `maxPixels` are found before training starts.
 */
import { resolve } from 'node:path';
import { CocoDataset, CocoFormatError, type CocoAnnotation, type CocoImage } from '../eval/coco.js';
import { MAX_BOX_EXTENT } from '../eval/coco.js';
import { readJsonFile } from '../eval/json.js';
import { checkSegmentation, SegmentationError } from '../src/structures/segmentation.js';
import { rleFromString } from '../src/structures/rle-string.js';
import { checkImageFile, DEFAULT_MAX_PIXELS, ImageError, type ImageErrorKind } from './image.js';
import { SkipLog, type OnBad, type SkipSummary } from './skip.js';

export interface CocoDetectionOptions {
  /** Folder the images' `file_name`s are relative to. */
  imageDir: string;
  /** `'train'` applies mmdet's annotation and image filters; `'test'` keeps everything (default `'train'`). */
  mode?: 'train' | 'test';
  /** Training: drop images whose shorter side is below this (mmdet `filter_cfg.min_size`, default 32). */
  minSize?: number;
  /** Training: drop images without a usable non-crowd box (mmdet `filter_empty_gt`, default true). */
  filterEmptyGt?: boolean;
  /** Training: drop boxes with width or height below this (default 1, as mmdet). */
  minBoxSize?: number;
  /** Validate and keep segmentations (instance segmentation); default false. */
  withMasks?: boolean;
  /** `'error'` (default) or `'skip'` bad records / image files, counted in `skipped`. */
  onBad?: OnBad;
  /** Read every image header now (existence, size, `maxPixels`); default false (found when loading). */
  checkImages?: boolean;
  /** Largest image (width × height) accepted; default 100 MP. */
  maxPixels?: number;
}

/** One image with its targets, in original image pixels. */
export interface DatasetSample {
  imageId: number;
  /** `images[i] (id N)`: where the image is in the annotation file (for error messages). */
  record: string;
  /** Resolved image path. */
  file: string;
  /** Size from the annotation file. */
  width: number;
  height: number;
  /** `[x1, y1, x2, y2]` per object (COCO `[x, y, w, h]` converted), original pixels. */
  boxes: Float32Array;
  /** Contiguous label 0..K−1 per box. */
  labels: Int32Array;
  /** COCO annotation id per box. */
  annIds: number[];
  /** COCO segmentation per box (with `withMasks`), else null. */
  segmentations: unknown[] | null;
  /** Crowd regions `[x1, y1, x2, y2]` (ignored in training: neither positive nor negative). */
  ignoreBoxes: Float32Array;
}

/** Counts of what the training filters removed (not errors). */
export interface FilterCounts {
  ignoreFlag: number;
  outsideImage: number;
  smallBox: number;
  zeroArea: number;
  emptyImages: number;
  smallImages: number;
}

type Rec = Record<string, unknown>;
const isObject = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (v: unknown): string =>
  v === undefined ? 'nothing (missing)' : Array.isArray(v) ? `an array of length ${v.length}` : isObject(v) ? 'an object' : JSON.stringify(v) ?? String(v);

const IMAGE_REASON: Record<ImageErrorKind, string> = {
  missing: 'missing image file',
  unreadable: 'unreadable image',
  'too-large': 'image too large',
  'size-mismatch': 'image size mismatch',
  corrupt: 'corrupt image',
};

/** The `onBad` reason under which an image file problem is counted. */
export function imageSkipReason(e: ImageError): string {
  return IMAGE_REASON[e.kind];
}

/** An image file problem as an error naming the annotation file, the image record and `file_name`. */
export function imageRecordError(annFile: string, sample: Pick<DatasetSample, 'record'>, e: ImageError): CocoFormatError {
  return new CocoFormatError(annFile, sample.record, 'file_name', e.message);
}

function segmentationReason(e: SegmentationError): string {
  if (e.path.endsWith('.size')) return 'RLE size differs from image';
  if (/at least 3 points/.test(e.reason)) return 'polygon with < 3 points';
  return 'invalid segmentation';
}

export class CocoDetectionDataset {
  /** The annotation file (or the label given to `fromJson`). */
  readonly annFile: string;
  readonly mode: 'train' | 'test';
  readonly samples: DatasetSample[];
  /** Category names by label. */
  readonly classNames: string[];
  /** COCO category id by label (ascending). */
  readonly catIds: number[];
  /** The validated annotation file (only the kept records), for evaluation against the same ground truth. */
  readonly coco: CocoDataset;
  /** Bad records and image files left out under `onBad: 'skip'`. */
  readonly skipped: SkipSummary;
  /** What the training filters removed. */
  readonly filtered: FilterCounts;

  private constructor(init: {
    annFile: string;
    mode: 'train' | 'test';
    samples: DatasetSample[];
    classNames: string[];
    catIds: number[];
    coco: CocoDataset;
    skipped: SkipSummary;
    filtered: FilterCounts;
  }) {
    this.annFile = init.annFile;
    this.mode = init.mode;
    this.samples = init.samples;
    this.classNames = init.classNames;
    this.catIds = init.catIds;
    this.coco = init.coco;
    this.skipped = init.skipped;
    this.filtered = init.filtered;
  }

  get numClasses(): number {
    return this.catIds.length;
  }

  /** Label of a COCO category id (undefined for an unknown id). */
  labelOf(catId: number): number | undefined {
    const i = this.catIds.indexOf(catId);
    return i < 0 ? undefined : i;
  }

  /** Reads and validates `annFile` (invalid JSON → `CocoFormatError` with line and column). */
  static async load(annFile: string, opts: CocoDetectionOptions): Promise<CocoDetectionDataset> {
    return CocoDetectionDataset.fromJson(readJsonFile(annFile, 'annotation file'), annFile, opts);
  }

  /** Validates parsed COCO JSON (`source` names it in errors). */
  static async fromJson(json: unknown, source: string, opts: CocoDetectionOptions): Promise<CocoDetectionDataset> {
    const onBad = opts.onBad ?? 'error';
    const mode = opts.mode ?? 'train';
    const log = new SkipLog();
    const bad = (reason: string, record: string | undefined, field: string | undefined, why: string): void => {
      const err = new CocoFormatError(source, record, field, why);
      if (onBad === 'error') throw err;
      log.add(reason, err.message);
    };
    const fatal = (where: string | undefined, why: string): never => {
      throw new CocoFormatError(source, where, undefined, why);
    };
    if (!isObject(json)) fatal(undefined, `expected an annotation file object {images, categories, annotations}, got ${show(json)}`);
    const root = json as Rec;
    // a file without 'annotations' (image info only, as COCO test-dev) has none, as in eval/coco.ts
    const annsRaw = root.annotations ?? [];
    for (const [key, v] of [['images', root.images], ['categories', root.categories], ['annotations', annsRaw]] as const) {
      if (!Array.isArray(v)) fatal(key, `expected an array, got ${show(v)}`);
    }
    const imagesRaw = root.images as unknown[];
    const catsRaw = root.categories as unknown[];

    // images -------------------------------------------------------------------------------------------------
    const idCount = (list: unknown[]): Map<unknown, number[]> => {
      const m = new Map<unknown, number[]>();
      list.forEach((r, i) => {
        if (isObject(r) && isNum(r.id)) {
          const l = m.get(r.id);
          if (l) l.push(i);
          else m.set(r.id, [i]);
        }
      });
      return m;
    };
    const imageIdUses = idCount(imagesRaw);
    const keptImages: CocoImage[] = [];
    const imageRecord = new Map<number, string>();
    imagesRaw.forEach((r, i) => {
      const rec = `images[${i}]`;
      if (!isObject(r)) return bad('invalid image record', rec, undefined, `expected an object, got ${show(r)}`);
      if (!isNum(r.id)) return bad('invalid image record', rec, 'id', `expected a number, got ${show(r.id)}`);
      const named = `images[${i}] (id ${r.id})`;
      const uses = imageIdUses.get(r.id)!;
      if (uses.length > 1) {
        const others = uses.filter((j) => j !== i).map((j) => `images[${j}]`).join(', ');
        return bad('duplicate image id', named, 'id', `duplicate image id ${r.id} (also ${others}); its annotations are ambiguous`);
      }
      for (const f of ['width', 'height'] as const) {
        const v = r[f];
        if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
          return bad('invalid image record', named, f, `expected a positive integer, got ${show(v)}`);
        }
      }
      if (typeof r.file_name !== 'string' || r.file_name.length === 0) {
        return bad('invalid image record', named, 'file_name', `expected a non-empty string, got ${show(r.file_name)}`);
      }
      keptImages.push(r as CocoImage);
      imageRecord.set(r.id, named);
    });

    // categories ---------------------------------------------------------------------------------------------
    const catIdUses = idCount(catsRaw);
    const keptCats: Rec[] = [];
    catsRaw.forEach((r, i) => {
      const rec = `categories[${i}]`;
      if (!isObject(r)) return bad('invalid category record', rec, undefined, `expected an object, got ${show(r)}`);
      if (!isNum(r.id)) return bad('invalid category record', rec, 'id', `expected a number, got ${show(r.id)}`);
      const named = `categories[${i}] (id ${r.id})`;
      const uses = catIdUses.get(r.id)!;
      if (uses.length > 1) {
        const others = uses.filter((j) => j !== i).map((j) => `categories[${j}]`).join(', ');
        return bad('duplicate category id', named, 'id', `duplicate category id ${r.id} (also ${others}); its label is ambiguous`);
      }
      if (typeof r.name !== 'string') return bad('invalid category record', named, 'name', `expected a string, got ${show(r.name)}`);
      keptCats.push(r);
    });
    const imageById = new Map(keptImages.map((im) => [im.id, im]));
    const catSet = new Set(keptCats.map((c) => c.id as number));

    // annotations --------------------------------------------------------------------------------------------
    const annFirst = new Map<number, number>();
    const keptAnns: Rec[] = [];
    (annsRaw as unknown[]).forEach((r, i) => {
      let rec = `annotations[${i}]`;
      if (!isObject(r)) return bad('invalid annotation record', rec, undefined, `expected an object, got ${show(r)}`);
      if (!isNum(r.id)) return bad('invalid annotation record', rec, 'id', `expected a number, got ${show(r.id)}`);
      rec = `annotations[${i}] (id ${r.id}, image ${show(r.image_id)})`;
      const prev = annFirst.get(r.id);
      if (prev !== undefined) return bad('duplicate annotation id', rec, 'id', `duplicate annotation id ${r.id} (also annotations[${prev}])`);
      annFirst.set(r.id, i);
      if (!isNum(r.image_id)) return bad('invalid annotation record', rec, 'image_id', `expected a number, got ${show(r.image_id)}`);
      const img = imageById.get(r.image_id);
      if (!img) {
        const why = imageIdUses.has(r.image_id) ? `image ${r.image_id} was left out (see its record)` : `image ${r.image_id} is not in 'images'`;
        return bad('unknown image', rec, 'image_id', why);
      }
      if (!isNum(r.category_id)) return bad('invalid annotation record', rec, 'category_id', `expected a number, got ${show(r.category_id)}`);
      if (!catSet.has(r.category_id)) {
        const why = catIdUses.has(r.category_id) ? `category ${r.category_id} was left out (see its record)` : `category ${r.category_id} is not in 'categories'`;
        return bad('unknown category', rec, 'category_id', why);
      }
      const b = r.bbox;
      if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) {
        return bad('invalid bbox', rec, 'bbox', `expected [x, y, width, height] with 4 finite numbers, got ${Array.isArray(b) ? `[${b.slice(0, 8).map((x: unknown) => (typeof x === 'number' ? String(x) : JSON.stringify(x))).join(', ')}]` : show(b)}`);
      }
      if (b[2] < 0 || b[3] < 0) return bad('negative box size', rec, 'bbox', `negative box size (width ${b[2]}, height ${b[3]})`);
      const lim = MAX_BOX_EXTENT * Math.max(img.width, img.height);
      if (b.some((v: number) => Math.abs(v) > lim)) {
        return bad(
          'invalid bbox',
          rec,
          'bbox',
          `box [${b.join(', ')}] reaches more than ${MAX_BOX_EXTENT}× the image size (${img.width}×${img.height}) outside the image; wrong units?`,
        );
      }
      if (!isNum(r.area) || r.area < 0) return bad('invalid annotation record', rec, 'area', `expected a non-negative number, got ${show(r.area)}`);
      if (r.iscrowd !== undefined && typeof r.iscrowd !== 'boolean' && r.iscrowd !== 0 && r.iscrowd !== 1) {
        return bad('invalid annotation record', rec, 'iscrowd', `expected 0, 1 or a boolean, got ${show(r.iscrowd)}`);
      }
      if (opts.withMasks) {
        if (r.segmentation === undefined) return bad('missing segmentation', rec, 'segmentation', 'missing (masks were asked for)');
        try {
          checkSegmentation(r.segmentation, img.height, img.width);
          const s = r.segmentation as { counts?: unknown };
          if (isObject(s) && typeof s.counts === 'string') {
            try {
              rleFromString(s.counts, img.height, img.width);
            } catch (e) {
              throw new SegmentationError('.counts', (e as Error).message);
            }
          }
        } catch (e) {
          if (!(e instanceof SegmentationError)) throw e;
          return bad(segmentationReason(e), rec, `segmentation${e.path}`, `${e.reason} (image ${img.height}x${img.width})`);
        }
      }
      keptAnns.push(r);
    });

    const coco = CocoDataset.fromJson({ images: keptImages, categories: keptCats, annotations: keptAnns }, source);
    const catIds = coco.getCatIds();
    const labelOf = new Map(catIds.map((id, i) => [id, i]));
    const classNames = catIds.map((id) => coco.categories.get(id)!.name);
    const filtered: FilterCounts = { ignoreFlag: 0, outsideImage: 0, smallBox: 0, zeroArea: 0, emptyImages: 0, smallImages: 0 };
    const train = mode === 'train';
    const minBox = opts.minBoxSize ?? 1;
    const minSize = opts.minSize ?? 32;
    const filterEmpty = opts.filterEmptyGt ?? true;

    let samples: DatasetSample[] = [];
    for (const img of keptImages) {
      const boxes: number[] = [];
      const labels: number[] = [];
      const annIds: number[] = [];
      const segms: unknown[] = [];
      const ignore: number[] = [];
      for (const a of coco.annsByImage(img.id) as CocoAnnotation[]) {
        const [x, y, w, h] = a.bbox;
        if (train) {
          if (a.ignore) {
            filtered.ignoreFlag++;
            continue;
          }
          const interW = Math.max(0, Math.min(x + w, img.width) - Math.max(x, 0));
          const interH = Math.max(0, Math.min(y + h, img.height) - Math.max(y, 0));
          if (interW * interH === 0) {
            filtered.outsideImage++;
            continue;
          }
          if (a.area <= 0) {
            filtered.zeroArea++;
            continue;
          }
          if (w < minBox || h < minBox) {
            filtered.smallBox++;
            continue;
          }
        }
        if (a.iscrowd) {
          ignore.push(x, y, x + w, y + h);
          continue;
        }
        boxes.push(x, y, x + w, y + h);
        labels.push(labelOf.get(a.category_id)!);
        annIds.push(a.id);
        if (opts.withMasks) segms.push(a.segmentation);
      }
      if (train) {
        if (filterEmpty && labels.length === 0) {
          filtered.emptyImages++;
          continue;
        }
        if (Math.min(img.width, img.height) < minSize) {
          filtered.smallImages++;
          continue;
        }
      }
      samples.push({
        imageId: img.id,
        record: imageRecord.get(img.id)!,
        file: resolve(opts.imageDir, img.file_name!),
        width: img.width,
        height: img.height,
        boxes: Float32Array.from(boxes),
        labels: Int32Array.from(labels),
        annIds,
        segmentations: opts.withMasks ? segms : null,
        ignoreBoxes: Float32Array.from(ignore),
      });
    }

    if (opts.checkImages) samples = await checkFiles(samples, source, opts.maxPixels ?? DEFAULT_MAX_PIXELS, onBad, log);

    return new CocoDetectionDataset({ annFile: source, mode, samples, classNames, catIds, coco, skipped: log.summary(), filtered });
  }
}

/** Header checks of every sample's image, 8 at a time; bad ones throw or are skipped (in order). */
async function checkFiles(samples: DatasetSample[], annFile: string, maxPixels: number, onBad: OnBad, log: SkipLog): Promise<DatasetSample[]> {
  const problems: (ImageError | undefined)[] = new Array(samples.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length) {
      const i = next++;
      const s = samples[i]!;
      try {
        await checkImageFile(s.file, { expectWidth: s.width, expectHeight: s.height, maxPixels });
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        problems[i] = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, samples.length) }, worker));
  const kept: DatasetSample[] = [];
  samples.forEach((s, i) => {
    const e = problems[i];
    if (!e) return kept.push(s);
    const err = imageRecordError(annFile, s, e);
    if (onBad === 'error') throw err;
    log.add(imageSkipReason(e), err.message);
  });
  return kept;
}
