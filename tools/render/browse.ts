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
import type { CocoAnnotation, CocoImage } from '../../eval/coco.js';
import type { RgbImage } from '../../data/image.js';
import { drawInstances, GT_STYLE } from './draw.js';
import { writeGallery, type SkippedItem } from './gallery.js';
import { openDrawJob, type DrawJobOptions } from './job.js';
import { gtInstances } from './render.js';

export type BrowseOptions = DrawJobOptions;

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
  const { colorBy, onBad, log, gt, run } = openDrawJob(opts);
  const badAnns: SkippedItem[] = [];
  let instances = 0;

  const skipBadMask = onBad === 'skip' ? (a: CocoAnnotation, e: Error) => badAnns.push({ what: gt.describeAnnotation(a), reason: e.message }) : undefined;
  const draw = (img: RgbImage, rec: CocoImage) => {
    const list = gtInstances(gt, rec.id, colorBy, true, skipBadMask);
    instances += list.length;
    return { image: drawInstances(img, list, GT_STYLE).image };
  };

  const job = await run(draw, 'browse-dataset');
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
