/**
 * `tiedet render`: draws the detections of a COCO results file on the images (masks, contours, boxes, labels),
 * optionally side by side with the ground truth and each image's AP, and writes an `index.html` gallery. The work is
 * in tools/render/ (render.ts; drawing in draw.ts, shared with `browse-dataset`, as are the selection / drawing
 * options and the final report in cli-options.ts).
 */
import type { CommandModule } from 'yargs';
import type { IouType } from '../eval/cocoeval.js';
import { CliError } from './cli-error.js';
import { assertOutputDirNotInputDir, assertOutputsNotInputs } from './safe-output.js';
import { join } from 'node:path';
import { DEFAULT_SCORE_THR } from './render/defaults.js';
import { drawJobOptions, drawingOptions, printDrawReport, runDrawJob, selectionOptions, type DrawArgs } from './render/cli-options.js';

export interface RenderArgs extends DrawArgs {
  images: string;
  results: string;
  gt?: string;
  out: string;
  'score-thr': number;
  'iou-type'?: IouType;
  'side-by-side': boolean;
}

export async function runRender(args: RenderArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  if (args.gt === undefined) {
    throw new CliError(
      'render needs --gt ann.json: COCO results hold only image ids, and the annotation file gives each image its file ' +
        'name and size (an annotation file with images and categories but no annotations is enough; AP and the GT panel then stay empty)',
      2,
    );
  }
  const thr = args['score-thr'];
  if (!(Number.isFinite(thr) && thr >= 0 && thr <= 1)) {
    throw new CliError(`--score-thr: expected a number from 0 to 1 (0 draws every detection), got ${String(thr)}`, 2);
  }
  const common = drawJobOptions(args, err);
  assertOutputDirNotInputDir({ option: '--out', path: args.out }, [{ option: '--images', path: args.images }]);
  assertOutputsNotInputs(
    [{ option: '--out', path: join(args.out, 'index.html') }],
    [{ option: '--gt', path: args.gt }, { option: '--results', path: args.results }],
  );
  const { renderResults } = await import('./render/render.js'); // sharp and Skia load only for this command
  const gt = args.gt;
  const s = await runDrawJob(() =>
    renderResults({
      ...common,
      images: args.images,
      results: args.results,
      gt,
      out: args.out,
      scoreThr: args['score-thr'],
      iouType: args['iou-type'],
      sideBySide: args['side-by-side'],
    }),
  );
  const rate = s.seconds > 0 ? ` in ${s.seconds.toFixed(1)} s (${(s.rendered / s.seconds).toFixed(1)} images/s)` : '';
  const lines = [
    `rendered ${s.rendered} image(s), ${s.detectionsDrawn} detection(s) drawn, to ${s.out}${rate}`,
    `${s.iouType} AP over these images: ${s.ap === null ? '– (no ground truth)' : s.ap.toFixed(3)}`,
  ];
  printDrawReport({ lines, skippedImages: s.skippedImages, skippedOther: s.skippedResults, otherName: 'result record(s)', gallery: s.gallery }, out, err);
}

export const renderCommand: CommandModule<object, RenderArgs> = {
  command: 'render',
  describe: 'Draw the masks and boxes of a COCO results file on the images (+ side-by-side with GT, index.html gallery)',
  builder: (y) =>
    drawingOptions(
      selectionOptions(
        y
          .option('images', { type: 'string', demandOption: true, describe: 'folder of the image files (file_name of the annotation file)' })
          .option('results', { type: 'string', demandOption: true, describe: 'COCO results JSON (a list of detections)' })
          .option('gt', { type: 'string', describe: 'COCO annotation JSON (required: file names and sizes; its annotations give AP and the GT panel)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder (images + index.html)' })
          .option('score-thr', { type: 'number', default: DEFAULT_SCORE_THR, describe: 'draw detections with score ≥ this (AP uses all)' })
          .option('iou-type', { type: 'string', choices: ['segm', 'bbox'] as const, describe: 'segm: masks + boxes; bbox: boxes only (default: segm when the results have masks)' }),
      ).option('side-by-side', { type: 'boolean', default: false, describe: 'ground truth left, predictions right, AP in a caption strip' }),
      'malformed results',
    )
      .example('$0 render --gt instances_val2017.json --images val2017 --results segm.json --out work_dirs/render', 'masks of every image')
      .example('$0 render --gt gt.json --images imgs --results dets.json --side-by-side --max-images 50 --out vis', 'GT | predictions with AP') as never,
  handler: async (args) => {
    await runRender(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
