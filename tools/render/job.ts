/**
 * The image loop shared by `tiedet render` and `tiedet browse-dataset`: which images (by id, `--img-ids`,
 * `--max-images`), where their files are (`--images` DIR + the annotation file's `file_name`), where the drawings
 * go (the same relative path with the extension replaced, collision-free, never over an input), reading each image
 * at its annotated size (`data/image.ts`), calling the command's drawing function, writing the result, progress
 * lines, and the `--on-bad` policy for image files (error: stop with the file named; skip: count and list them).
 * `openDrawJob` is the start both commands share: the options' defaults, the images folder checked, the annotation
 * file read, the image ids selected.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, posix, resolve } from 'node:path';
import { CocoDataset, CocoFormatError, type CocoImage } from '../../eval/coco.js';
import { boxOcclusionRatio } from '../../eval/occlusion.js';
import { ImageError, readImage, writeImage, type RgbImage } from '../../data/image.js';
import { fontsAvailable } from './draw.js';
import type { GalleryRow, SkippedItem } from './gallery.js';

export type ImageFormat = 'png' | 'jpeg';
export type OnBad = 'error' | 'skip';
export type ColorBy = 'category' | 'instance';

/** What both drawing commands take (`renderResults`, `browseDataset`). */
export interface DrawJobOptions {
  /** COCO annotation JSON: each image's file name and size (and the ground truth). */
  gt: string;
  /** Folder of the image files (joined with each image's `file_name`). */
  images: string;
  out: string;
  imgIds?: readonly number[];
  maxImages?: number;
  colorBy?: ColorBy;
  format?: ImageFormat;
  onBad?: OnBad;
  /** Progress and warnings (stderr in the CLI). */
  log?: (line: string) => void;
  progressEvery?: number;
}

/**
 * The start of a drawing job: defaults filled in (colour by category, PNG, stop on bad input, no log), the images
 * folder checked, the annotation file read and the image ids selected; `run(draw, name)` then runs the image loop
 * (`runImageJob`) over them with these options.
 */
export function openDrawJob(opts: DrawJobOptions) {
  const colorBy: ColorBy = opts.colorBy ?? 'category';
  const onBad: OnBad = opts.onBad ?? 'error';
  const log = opts.log ?? (() => {});
  checkImagesDir(opts.images);
  const gt = CocoDataset.fromFile(opts.gt);
  const imageIds = selectImageIds(gt, { imgIds: opts.imgIds, maxImages: opts.maxImages });
  const format: ImageFormat = opts.format ?? 'png';
  const run = (draw: JobOptions['draw'], name: string) =>
    runImageJob({ gt, imagesDir: opts.images, outDir: opts.out, imageIds, format, onBad, draw, log, progressEvery: opts.progressEvery, name });
  return { colorBy, onBad, log, gt, imageIds, run };
}

/** Image ids to draw: all ids of `gt` ascending, or `imgIds` (each must exist) in the given order, cut to `maxImages`. */
export function selectImageIds(gt: CocoDataset, opts: { imgIds?: readonly number[]; maxImages?: number }): number[] {
  let ids: number[];
  if (opts.imgIds) {
    const seen = new Set<number>();
    ids = [];
    for (const id of opts.imgIds) {
      if (!gt.images.has(id)) throw new Error(`--img-ids: image ${id} is not in ${gt.source}`);
      if (!seen.has(id)) ids.push(id);
      seen.add(id);
    }
  } else {
    ids = gt.getImgIds();
  }
  if (opts.maxImages !== undefined) {
    if (!(Number.isInteger(opts.maxImages) && opts.maxImages >= 0)) throw new Error(`--max-images: expected a non-negative integer, got ${opts.maxImages}`);
    ids = ids.slice(0, opts.maxImages);
  }
  return ids;
}

function imageRecordName(gt: CocoDataset, id: number): string {
  let i = 0;
  for (const key of gt.images.keys()) {
    if (key === id) return `images[${i}] (id ${id})`;
    i++;
  }
  return `image ${id}`;
}

/** The image's `file_name`; a CocoFormatError naming the record when it is missing. */
export function fileNameOf(gt: CocoDataset, img: CocoImage): string {
  const f = img.file_name;
  if (typeof f !== 'string' || f.length === 0) {
    throw new CocoFormatError(gt.source, imageRecordName(gt, img.id), 'file_name', 'missing or empty: the image file cannot be found without it');
  }
  return f;
}

/**
 * Output paths (relative, forward slashes) for the images: `file_name` with its extension replaced by `.png` /
 * `.jpg`, keeping sub-folders; a name that would leave the output folder keeps only its base name; a name already
 * taken (case-insensitively) gets `_id<image id>` before the extension.
 */
export function outputNames(images: readonly { id: number; fileName: string }[], format: ImageFormat): Map<number, string> {
  const ext = format === 'jpeg' ? '.jpg' : '.png';
  const taken = new Set<string>(['index.html']);
  const out = new Map<number, string>();
  for (const { id, fileName } of images) {
    let rel = posix.normalize(fileName.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
    if (isAbsolute(rel) || rel.startsWith('/') || rel.split('/').includes('..') || rel === '.' || rel === '') rel = basename(rel) || String(id);
    const stem = rel.slice(0, rel.length - extname(rel).length) || String(id);
    let name = stem + ext;
    if (taken.has(name.toLowerCase())) name = `${stem}_id${id}${ext}`;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${stem}_id${id}_${k}${ext}`;
    taken.add(name.toLowerCase());
    out.set(id, name);
  }
  return out;
}

/** Occlusion ratio r of an image's non-crowd ground-truth boxes. */
export function imageOcclusion(gt: CocoDataset, imageId: number): number {
  const boxes: number[] = [];
  for (const a of gt.annsByImage(imageId)) if (!a.iscrowd) boxes.push(...a.bbox);
  return boxOcclusionRatio(boxes);
}

/** What a command's drawing function returns for one image. */
export interface Drawn {
  image: RgbImage;
  /** The row's command-specific figures (detections, AP). */
  row?: Partial<GalleryRow>;
}

export interface JobOptions {
  gt: CocoDataset;
  imagesDir: string;
  outDir: string;
  imageIds: readonly number[];
  format: ImageFormat;
  onBad: OnBad;
  /** Draws one image (called in image order for the images that could be read). */
  draw: (img: RgbImage, record: CocoImage) => Drawn;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** A progress line every this many images (default 50; 0 = none). */
  progressEvery?: number;
  /** Images in flight (reading / drawing / encoding overlap; default 3). */
  concurrency?: number;
  /** Command name for progress lines. */
  name?: string;
}

export interface JobResult {
  rows: GalleryRow[];
  skipped: SkippedItem[];
  seconds: number;
}

/**
 * Reads, draws and writes every selected image. Under `onBad: 'error'` the first unreadable image stops the job
 * with an ImageError naming the file; under 'skip' it is left out, counted and listed.
 */
export async function runImageJob(opts: JobOptions): Promise<JobResult> {
  const { gt, imagesDir, outDir, format } = opts;
  const t0 = performance.now();
  const records = opts.imageIds.map((id) => gt.images.get(id)!);
  const skipped: SkippedItem[] = [];
  const named: { id: number; fileName: string }[] = [];
  const fileNames = new Map<number, string>();
  for (const rec of records) {
    try {
      const f = fileNameOf(gt, rec);
      fileNames.set(rec.id, f);
      named.push({ id: rec.id, fileName: f });
    } catch (e) {
      if (opts.onBad === 'skip' && e instanceof CocoFormatError) skipped.push({ what: `image ${rec.id}`, reason: e.message });
      else throw e;
    }
  }
  const outNames = outputNames(named, format);
  for (const { id, fileName } of named) {
    const src = resolve(imagesDir, fileName);
    const dst = resolve(outDir, outNames.get(id)!);
    if (src === dst) throw new Error(`${dst}: the output would overwrite the input image ${fileName}; choose another --out`);
  }
  await mkdir(outDir, { recursive: true });
  if (!fontsAvailable()) {
    opts.log?.(`${opts.name ?? 'render'}: warning: no fonts found (Skia looks in the system font folders); labels are drawn as plates without text — install a font package such as fonts-dejavu-core`);
  }

  const rows: (GalleryRow | undefined)[] = new Array(named.length);
  const skippedAt: (SkippedItem | undefined)[] = new Array(named.length);
  const every = opts.progressEvery ?? 50;
  const name = opts.name ?? 'render';
  let done = 0;
  let next = 0;
  let failure: unknown;
  const work = async (): Promise<void> => {
    while (failure === undefined && next < named.length) {
      const k = next++;
      const { id, fileName } = named[k]!;
      const rec = gt.images.get(id)!;
      const file = join(imagesDir, fileName);
      let img: RgbImage;
      try {
        img = await readImage(file, { expectWidth: rec.width, expectHeight: rec.height });
      } catch (e) {
        if (e instanceof ImageError) {
          const err = new ImageError(e.file, `${e.reason} (image ${id} of ${gt.source})`);
          if (opts.onBad === 'skip') {
            skippedAt[k] = { what: `image ${id}`, reason: err.message };
            done++;
            continue;
          }
          failure ??= err;
          return;
        }
        failure ??= e;
        return;
      }
      let drawn: Drawn;
      try {
        drawn = opts.draw(img, rec);
      } catch (e) {
        failure ??= e;
        return;
      }
      const rel = outNames.get(id)!;
      try {
        await writeImage(join(outDir, rel), drawn.image, { format, compressionLevel: 2 });
      } catch (e) {
        failure ??= new Error(`cannot write ${join(outDir, rel)}: ${(e as Error).message}`);
        return;
      }
      let gtCount = 0;
      let crowd = 0;
      for (const a of gt.annsByImage(id)) {
        if (a.iscrowd) crowd++;
        else gtCount++;
      }
      rows[k] = {
        href: rel,
        fileName,
        imageId: id,
        width: rec.width,
        height: rec.height,
        gt: gtCount,
        crowd,
        occlusion: imageOcclusion(gt, id),
        ...drawn.row,
      };
      done++;
      if (every > 0 && done % every === 0 && done < named.length) {
        const s = (performance.now() - t0) / 1000;
        opts.log?.(`${name}: ${done}/${named.length} images (${(done / s).toFixed(1)} images/s)`);
      }
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 3, named.length));
  await Promise.all(Array.from({ length: n }, work));
  if (failure !== undefined) throw failure;
  for (const s of skippedAt) if (s) skipped.push(s);
  return { rows: rows.filter((r): r is GalleryRow => r !== undefined), skipped, seconds: (performance.now() - t0) / 1000 };
}

/** Whether `dir` exists (for a clear error before any work). */
export function checkImagesDir(dir: string): void {
  if (!existsSync(dir)) throw new Error(`--images: folder ${dir} does not exist`);
}
