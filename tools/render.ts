/**
 * `tiedet render`: draws the detections of a COCO results file on the images (masks, contours, boxes, labels),
 * optionally side by side with the ground truth and each image's AP, and writes an `index.html` gallery. The work is
 * in tools/render/ (render.ts; drawing in draw.ts, shared with `browse-dataset`).
 */
import type { CommandModule } from 'yargs';
import type { IouType } from '../eval/cocoeval.js';
import { CliError } from './cli-error.js';
import { parseIntList } from './eval.js';
import type { ColorBy } from './render/render.js';
import type { ImageFormat, OnBad } from './render/job.js';

export interface RenderArgs {
  images: string;
  results: string;
  gt?: string;
  out: string;
  'score-thr': number;
  'iou-type'?: IouType;
  'img-ids'?: string;
  'max-images'?: number;
  'side-by-side': boolean;
  'color-by': ColorBy;
  format: ImageFormat;
  'on-bad': OnBad;
}

/** One line for the user: the first line of the message, no stack trace. */
export function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CliError(msg.split('\n')[0]!);
}

/** Prints up to `max` skipped items to `err`, then how many more there were. */
export function reportSkipped(items: readonly { what: string; reason: string }[], err: (s: string) => void, max = 10): void {
  for (const s of items.slice(0, max)) err(`tiedet: skipped ${s.reason}\n`);
  if (items.length > max) err(`tiedet: … and ${items.length - max} more (all listed in index.html)\n`);
}

export function checkMaxImages(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw new CliError(`--max-images: expected a non-negative integer, got ${n}`, 2);
}

export async function runRender(args: RenderArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  if (args.gt === undefined) {
    throw new CliError(
      'render needs --gt ann.json: COCO results hold only image ids, and the annotation file gives each image its file ' +
        'name and size (an annotation file with images and categories but no annotations is enough; AP and the GT panel then stay empty)',
      2,
    );
  }
  if (!Number.isFinite(args['score-thr'])) throw new CliError(`--score-thr: expected a number, got ${String(args['score-thr'])}`, 2);
  checkMaxImages(args['max-images']);
  const imgIds = args['img-ids'] !== undefined ? parseIntList(args['img-ids'], 'img-ids') : undefined;
  const { renderResults } = await import('./render/render.js'); // sharp and Skia load only for this command
  let s;
  try {
    s = await renderResults({
      images: args.images,
      results: args.results,
      gt: args.gt,
      out: args.out,
      scoreThr: args['score-thr'],
      iouType: args['iou-type'],
      imgIds,
      maxImages: args['max-images'],
      sideBySide: args['side-by-side'],
      colorBy: args['color-by'],
      format: args.format,
      onBad: args['on-bad'],
      log: (line) => err(`tiedet: ${line}\n`),
    });
  } catch (e) {
    throw toCliError(e);
  }
  reportSkipped([...s.skippedImages, ...s.skippedResults], err);
  const rate = s.seconds > 0 ? ` in ${s.seconds.toFixed(1)} s (${(s.rendered / s.seconds).toFixed(1)} images/s)` : '';
  out(`rendered ${s.rendered} image(s), ${s.detectionsDrawn} detection(s) drawn, to ${s.out}${rate}\n`);
  out(`${s.iouType} AP over these images: ${s.ap === null ? '– (no ground truth)' : s.ap.toFixed(3)}\n`);
  if (s.skippedImages.length + s.skippedResults.length > 0) {
    out(`skipped ${s.skippedImages.length} image(s) and ${s.skippedResults.length} result record(s) (--on-bad skip)\n`);
  }
  out(`gallery: ${s.gallery}\n`);
}

export const renderCommand: CommandModule<object, RenderArgs> = {
  command: 'render',
  describe: 'Draw the masks and boxes of a COCO results file on the images (+ side-by-side with GT, index.html gallery)',
  builder: (y) =>
    y
      .option('images', { type: 'string', demandOption: true, describe: 'folder of the image files (file_name of the annotation file)' })
      .option('results', { type: 'string', demandOption: true, describe: 'COCO results JSON (a list of detections)' })
      .option('gt', { type: 'string', describe: 'COCO annotation JSON (required: file names and sizes; its annotations give AP and the GT panel)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder (images + index.html)' })
      .option('score-thr', { type: 'number', default: 0.5, describe: 'draw detections with score ≥ this (AP uses all)' })
      .option('iou-type', { type: 'string', choices: ['segm', 'bbox'] as const, describe: 'segm: masks + boxes; bbox: boxes only (default: segm when the results have masks)' })
      .option('img-ids', { type: 'string', describe: 'only these image ids, e.g. 42,73,74' })
      .option('max-images', { type: 'number', describe: 'at most N images (the first by id, or of --img-ids)' })
      .option('side-by-side', { type: 'boolean', default: false, describe: 'ground truth left, predictions right, AP in a caption strip' })
      .option('color-by', { type: 'string', choices: ['category', 'instance'] as const, default: 'category' as const, describe: 'one colour per category, or per instance' })
      .option('format', { type: 'string', choices: ['png', 'jpeg'] as const, default: 'png' as const, describe: 'output image format' })
      .option('on-bad', { type: 'string', choices: ['error', 'skip'] as const, default: 'error' as const, describe: 'missing/corrupt images and malformed results: stop, or skip and count them' })
      .example('$0 render --gt instances_val2017.json --images val2017 --results segm.json --out work_dirs/render', 'masks of every image')
      .example('$0 render --gt gt.json --images imgs --results dets.json --side-by-side --max-images 50 --out vis', 'GT | predictions with AP') as never,
  handler: async (args) => {
    await runRender(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
