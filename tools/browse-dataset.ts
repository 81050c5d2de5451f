/**
 * `tiedet browse-dataset`: draws a COCO annotation file's ground truth (boxes, masks, labels) on its images and
 * writes an `index.html` gallery — with the same drawing module as `tiedet render` (tools/render/).
 */
import type { CommandModule } from 'yargs';
import { parseIntList } from './eval.js';
import { checkMaxImages, reportSkipped, toCliError } from './render.js';
import type { ImageFormat, OnBad } from './render/job.js';
import type { ColorBy } from './render/render.js';

export interface BrowseArgs {
  gt: string;
  images: string;
  out: string;
  'img-ids'?: string;
  'max-images'?: number;
  'color-by': ColorBy;
  format: ImageFormat;
  'on-bad': OnBad;
}

export async function runBrowse(args: BrowseArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  checkMaxImages(args['max-images']);
  const imgIds = args['img-ids'] !== undefined ? parseIntList(args['img-ids'], 'img-ids') : undefined;
  const { browseDataset } = await import('./render/browse.js');
  let s;
  try {
    s = await browseDataset({
      gt: args.gt,
      images: args.images,
      out: args.out,
      imgIds,
      maxImages: args['max-images'],
      colorBy: args['color-by'],
      format: args.format,
      onBad: args['on-bad'],
      log: (line) => err(`tiedet: ${line}\n`),
    });
  } catch (e) {
    throw toCliError(e);
  }
  reportSkipped([...s.skippedImages, ...s.skippedAnnotations], err);
  out(`drew ${s.instances} annotation(s) on ${s.rendered} image(s) to ${s.out} in ${s.seconds.toFixed(1)} s\n`);
  if (s.skippedImages.length + s.skippedAnnotations.length > 0) {
    out(`skipped ${s.skippedImages.length} image(s) and ${s.skippedAnnotations.length} annotation mask(s) (--on-bad skip)\n`);
  }
  out(`gallery: ${s.gallery}\n`);
}

export const browseDatasetCommand: CommandModule<object, BrowseArgs> = {
  command: 'browse-dataset',
  describe: 'Draw the ground truth of a COCO annotation file on its images (boxes, masks, labels) + index.html gallery',
  builder: (y) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'COCO annotation JSON' })
      .option('images', { type: 'string', demandOption: true, describe: 'folder of the image files' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder (images + index.html)' })
      .option('img-ids', { type: 'string', describe: 'only these image ids, e.g. 42,73,74' })
      .option('max-images', { type: 'number', describe: 'at most N images (the first by id, or of --img-ids)' })
      .option('color-by', { type: 'string', choices: ['category', 'instance'] as const, default: 'category' as const, describe: 'one colour per category, or per instance' })
      .option('format', { type: 'string', choices: ['png', 'jpeg'] as const, default: 'png' as const, describe: 'output image format' })
      .option('on-bad', { type: 'string', choices: ['error', 'skip'] as const, default: 'error' as const, describe: 'missing/corrupt images and malformed masks: stop, or skip and count them' })
      .example('$0 browse-dataset --gt work_dirs/synthetic/instances_val.json --images work_dirs/synthetic/val --out work_dirs/browse', 'look at the ground truth') as never,
  handler: async (args) => {
    await runBrowse(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
