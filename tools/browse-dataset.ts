/**
 * `tiedet browse-dataset`: draws a COCO annotation file's ground truth (boxes, masks, labels) on its images and
 * writes an `index.html` gallery — with the same drawing module as `tiedet render` (tools/render/), and the same
 * selection / drawing options and report (tools/render/cli-options.ts).
 */
import type { CommandModule } from 'yargs';
import { drawJobOptions, drawingOptions, printDrawReport, runDrawJob, selectionOptions, type DrawArgs } from './render/cli-options.js';
import { assertOutputDirNotInputDir, assertOutputsNotInputs } from './safe-output.js';
import { join } from 'node:path';

export interface BrowseArgs extends DrawArgs {
  gt: string;
  images: string;
  out: string;
}

export async function runBrowse(args: BrowseArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  assertOutputDirNotInputDir({ option: '--out', path: args.out }, [{ option: '--images', path: args.images }]);
  assertOutputsNotInputs([{ option: '--out', path: join(args.out, 'index.html') }], [{ option: '--gt', path: args.gt }]);
  const common = drawJobOptions(args, err);
  const { browseDataset } = await import('./render/browse.js');
  const s = await runDrawJob(() => browseDataset({ ...common, gt: args.gt, images: args.images, out: args.out }));
  const lines = [`drew ${s.instances} annotation(s) on ${s.rendered} image(s) to ${s.out} in ${s.seconds.toFixed(1)} s`];
  printDrawReport({ lines, skippedImages: s.skippedImages, skippedOther: s.skippedAnnotations, otherName: 'annotation mask(s)', gallery: s.gallery }, out, err);
}

export const browseDatasetCommand: CommandModule<object, BrowseArgs> = {
  command: 'browse-dataset',
  describe: 'Draw the ground truth of a COCO annotation file on its images (boxes, masks, labels) + index.html gallery',
  builder: (y) =>
    drawingOptions(
      selectionOptions(
        y
          .option('gt', { type: 'string', demandOption: true, describe: 'COCO annotation JSON' })
          .option('images', { type: 'string', demandOption: true, describe: 'folder of the image files' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder (images + index.html)' }),
      ),
      'malformed masks',
    ).example('$0 browse-dataset --gt work_dirs/synthetic-tiny/annotations/instances_val.json --images work_dirs/synthetic-tiny/val --out work_dirs/browse', 'look at the ground truth')
      .example('$0 browse-dataset --gt instances_val2017.json --images val2017 --img-ids 139,285 --color-by instance --out work_dirs/browse', 'two COCO images, one colour per instance') as never,
  handler: async (args) => {
    await runBrowse(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
