/**
 * `tiedet infer`'s work: a detector over a folder of arbitrary images, streamed.
 *
 * Per batch of `batch` files: decode (data/image.ts; an unreadable file is reported in one line and skipped),
 * transform (the preset's), `predict`, dispose the batch tensor, append the COCO results records to
 * `OUT/results.json` (written incrementally: nothing accumulates but one small record per image for the images
 * JSON), advance the progress bar. Memory stays flat over any number of images: no tensors, decoded images or
 * detections outlive their batch.
 *
 * Outputs in OUT: `results.json` (COCO results: image_id, category_id = torchvision label, bbox [x, y, w, h],
 * score, segmentation as compressed RLE for Mask R-CNN), `images.json` (COCO `images` with ids, file names
 * relative to the images folder and sizes, the 80 `categories`, no annotations — so `tiedet eval` and
 * `tiedet render --gt OUT/images.json --images DIR` work without ground truth), `summary.json`, and with
 * `render` the drawn images and gallery in `OUT/render/` (tools/render). Detections of torchvision's background
 * label 0 or an "N/A" id (RetinaNet's 91 sigmoid classes can predict them) are not written, and are counted.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { DEFAULT_SCORE_THR } from '../render/defaults.js';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ImageError, readImage } from '../../data/image.js';
import type { CocoResult, Detection, DetectionBatch } from '../../detectors/detector.js';
import type { TvInputImage } from '../../detectors/torchvision/transform.js';
import { ProgressBar, type ProgressStream } from '../../src/train/progress.js';
import type { ImageList } from './inputs.js';

/** What infer needs of a detector (tools/infer/models.ts makes one from a preset or a config). */
export interface InferModel {
  /** Decoded images → the detector's batch (its resize / normalisation / padding). */
  prepare(images: readonly TvInputImage[]): DetectionBatch;
  predict(batch: DetectionBatch): Detection[];
  /** The COCO category id of a label, or null for a label that is not written (background, "N/A"). */
  categoryOf(label: number): number | null;
  /** COCO `categories` for the images JSON. */
  categories: { id: number; name: string }[];
  training: boolean;
  train(on: boolean): unknown;
}

export interface InferOptions {
  model: InferModel;
  images: ImageList;
  out: string;
  /** Keep detections scoring ≥ this (default: the model's own threshold only). */
  scoreThr?: number;
  batch?: number;
  render?: boolean;
  /** Progress bar and per-file warnings (default process.stderr). */
  stream?: ProgressStream;
}

export interface InferSummary {
  images: number;
  read: number;
  skipped: { file: string; reason: string }[];
  detections: number;
  droppedNonCoco: number;
  seconds: number;
  imagesPerSecond: number;
  results: string;
  imagesJson: string;
  gallery?: string;
}

function toRecords(d: Detection, scoreThr: number, categoryOf: (label: number) => number | null): { records: CocoResult[]; dropped: number } {
  const records: CocoResult[] = [];
  let dropped = 0;
  for (let i = 0; i < d.scores.length; i++) {
    const s = d.scores[i]!;
    if (s < scoreThr) continue;
    const cat = categoryOf(d.labels[i]!);
    if (cat === null) {
      dropped++;
      continue;
    }
    const [x1, y1, x2, y2] = [d.boxes[4 * i]!, d.boxes[4 * i + 1]!, d.boxes[4 * i + 2]!, d.boxes[4 * i + 3]!];
    const r: CocoResult = { image_id: d.imageId, category_id: cat, bbox: [x1, y1, x2 - x1, y2 - y1], score: s };
    if (d.masks) r.segmentation = d.masks[i]!;
    records.push(r);
  }
  return { records, dropped };
}

export async function runInfer(opts: InferOptions): Promise<InferSummary> {
  const { model, images } = opts;
  const batchSize = opts.batch ?? 1;
  const stream = opts.stream ?? process.stderr;
  const scoreThr = opts.scoreThr ?? 0;
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const resultsFile = join(out, 'results.json');
  const imagesFile = join(out, 'images.json');
  const inputs = new Set(images.files.map((f) => resolve(images.root, f)));
  for (const f of [resultsFile, imagesFile, join(out, 'summary.json')]) {
    if (inputs.has(f)) throw new Error(`--out: ${f} is one of the input images; choose another output folder`);
  }
  const t0 = performance.now();
  const bar = new ProgressBar({ total: images.files.length, stream, every: 100 });
  bar.start(0);
  const imageRecords: { id: number; file_name: string; width: number; height: number }[] = [];
  const skipped: InferSummary['skipped'] = [];
  let detections = 0;
  let droppedNonCoco = 0;
  let first = true;
  const fd = openSync(resultsFile, 'w');
  const wasTraining = model.training;
  model.train(false);
  try {
    writeSync(fd, '[');
    for (let b = 0; b < images.files.length; b += batchSize) {
      const names = images.files.slice(b, b + batchSize);
      const batchImages: TvInputImage[] = [];
      for (const [k, name] of names.entries()) {
        const file = join(images.root, name);
        try {
          const im = await readImage(file);
          batchImages.push({ data: im.data, width: im.width, height: im.height, imageId: b + k + 1, file });
        } catch (e) {
          const reason = e instanceof ImageError ? e.message : `${file}: ${(e as Error).message}`;
          skipped.push({ file: name, reason });
          bar.log(`skipped ${reason}`);
        }
      }
      if (batchImages.length > 0) {
        const batch = model.prepare(batchImages);
        let dets: Detection[];
        try {
          dets = model.predict(batch);
        } finally {
          batch.images.dispose();
        }
        for (const [k, d] of dets.entries()) {
          const im = batchImages[k]!;
          imageRecords.push({ id: im.imageId, file_name: names[im.imageId - b - 1]!, width: im.width, height: im.height });
          const { records, dropped } = toRecords(d, scoreThr, (l) => model.categoryOf(l));
          droppedNonCoco += dropped;
          detections += records.length;
          for (const r of records) {
            writeSync(fd, `${first ? '\n' : ',\n'}${JSON.stringify(r)}`);
            first = false;
          }
        }
      }
      bar.update({ iteration: Math.min(b + batchSize, images.files.length), losses: {} });
    }
    writeSync(fd, '\n]\n');
  } finally {
    closeSync(fd);
    model.train(wasTraining);
    bar.done();
  }
  writeFileSync(imagesFile, JSON.stringify({ images: imageRecords, annotations: [], categories: model.categories }));
  const seconds = (performance.now() - t0) / 1000;
  const summary: InferSummary = {
    images: images.files.length,
    read: imageRecords.length,
    skipped,
    detections,
    droppedNonCoco,
    seconds,
    imagesPerSecond: imageRecords.length / seconds,
    results: resultsFile,
    imagesJson: imagesFile,
  };
  if (opts.render && imageRecords.length > 0) {
    const { renderResults } = await import('../render/render.js');
    const r = await renderResults({
      gt: imagesFile,
      images: images.root,
      results: resultsFile,
      out: join(out, 'render'),
      scoreThr: opts.scoreThr ?? DEFAULT_SCORE_THR,
      onBad: 'skip',
    });
    summary.gallery = r.gallery;
  }
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify({ ...summary, tensorsAfter: tf.memory().numTensors }, null, 2)}\n`);
  return summary;
}
