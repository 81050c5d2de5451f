/**
 * `tiedet browse-dataset` logic: draws a COCO annotation file's ground truth (masks from polygons or RLE, boxes,
 * category labels, crowd regions marked) on its images with the render module's GT style, and writes the images
 * plus the `index.html` gallery (instance counts, occlusion ratio). Like mmdetection's `browse_dataset.py`, but on the
 * annotations as stored (no training transforms).
 *
 * `onBad: 'skip'` leaves out unreadable images and malformed annotation masks (the box is still drawn), counting
 * and listing them; 'error' stops at the first with the file, record and field named.
 */
import { basename } from 'node:path';
import { CocoDataset, CocoFormatError, type CocoImage } from '../../eval/coco.js';
import type { RgbImage } from '../../data/image.js';
import { categoryColor, drawInstances, GT_STYLE, instanceColor, type Instance } from './draw.js';
import { writeGallery, type SkippedItem } from './gallery.js';
import { checkImagesDir, runImageJob, selectImageIds, type ImageFormat, type OnBad } from './job.js';
import type { ColorBy } from './render.js';

export interface BrowseOptions {
  gt: string;
  images: string;
  out: string;
  imgIds?: readonly number[];
  maxImages?: number;
  colorBy?: ColorBy;
  format?: ImageFormat;
  onBad?: OnBad;
  log?: (line: string) => void;
  progressEvery?: number;
}

export interface BrowseSummary {
  out: string;
  gallery: string;
  rendered: number;
  instances: number;
  skippedImages: SkippedItem[];
  skippedAnnotations: SkippedItem[];
  seconds: number;
}

export async function browseDataset(opts: BrowseOptions): Promise<BrowseSummary> {
  const colorBy = opts.colorBy ?? 'category';
  const onBad = opts.onBad ?? 'error';
  const log = opts.log ?? (() => {});
  checkImagesDir(opts.images);
  const gt = CocoDataset.fromFile(opts.gt);
  const imageIds = selectImageIds(gt, { imgIds: opts.imgIds, maxImages: opts.maxImages });
  const badAnns: SkippedItem[] = [];
  let instances = 0;

  const draw = (img: RgbImage, rec: CocoImage) => {
    const list: Instance[] = gt.annsByImage(rec.id).map((a, k) => {
      let mask;
      if (a.segmentation !== undefined) {
        try {
          mask = gt.rle(a);
        } catch (e) {
          if (onBad !== 'skip' || !(e instanceof CocoFormatError)) throw e;
          badAnns.push({ what: gt.describeAnnotation(a), reason: e.message });
        }
      }
      const name = gt.categories.get(a.category_id)?.name ?? `category ${a.category_id}`;
      return {
        color: colorBy === 'category' ? categoryColor(a.category_id) : instanceColor(k),
        box: a.bbox,
        mask,
        label: a.iscrowd ? `${name} (crowd)` : name,
      };
    });
    instances += list.length;
    return { image: drawInstances(img, list, GT_STYLE).image };
  };

  const job = await runImageJob({
    gt,
    imagesDir: opts.images,
    outDir: opts.out,
    imageIds,
    format: opts.format ?? 'png',
    onBad,
    draw,
    log,
    progressEvery: opts.progressEvery,
    name: 'browse-dataset',
  });
  if (badAnns.length > 0) log(`browse-dataset: skipped the mask of ${badAnns.length} malformed annotation(s) (--on-bad skip)`);
  const skipped = [...job.skipped, ...badAnns];
  const info = [
    `ground truth ${basename(opts.gt)} · images ${opts.images}`,
    `${job.rows.length} image(s) · ${instances} annotation(s) drawn`,
  ];
  if (skipped.length > 0) info.push(`skipped: ${job.skipped.length} image(s), ${badAnns.length} annotation mask(s) (listed at the end)`);
  const gallery = writeGallery(opts.out, job.rows, {
    title: `tiedet browse-dataset — ${basename(opts.gt)}`,
    info,
    predictions: false,
    skipped,
  });
  return {
    out: opts.out,
    gallery,
    rendered: job.rows.length,
    instances,
    skippedImages: job.skipped,
    skippedAnnotations: badAnns,
    seconds: job.seconds,
  };
}
