/**
 * `tiedet eval`: COCO evaluation of a results file against a ground-truth file, with pycocotools' numbers
 * (eval/cocoeval.ts). Prints the familiar 12-line summary (and a per-category table with --per-class); --json writes
 * the stats, the per-category figures and the parameters.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { CocoDataset, CocoFormatError } from '../eval/coco.js';
import { CocoEval, formatCategoryTable, STAT_NAMES, type CategoryRow, type IouType } from '../eval/cocoeval.js';
import { parseIntList } from './cli-args.js';
import { CliError, toCliError } from './cli-error.js';
import { assertOutputsNotInputs } from './safe-output.js';

export interface EvalArgs {
  gt: string;
  results: string;
  iou: IouType;
  'per-class'?: boolean;
  'max-dets'?: string;
  'use-cats'?: number;
  'img-ids'?: string;
  'mask-area'?: boolean;
  'skip-unknown-categories'?: boolean;
  json?: string;
}

export interface EvalOutput {
  gt: string;
  results: string;
  iouType: IouType;
  stats: Record<string, number>;
  statsArray: number[];
  summary: string[];
  perClass?: CategoryRow[];
  params: Record<string, unknown>;
  counts: { images: number; categories: number; gtAnnotations: number; detections: number };
  warnings: string[];
  timing: { loadGtS: number; loadResS: number; evaluateS: number; accumulateS: number; summarizeS: number };
}

export async function runEval(args: EvalArgs, out: (s: string) => void, err: (s: string) => void): Promise<EvalOutput> {
  const maxDets = args['max-dets'] !== undefined ? parseIntList(args['max-dets'], 'max-dets', 0) : undefined;
  if (maxDets && maxDets.length < 3) {
    throw new CliError(
      `--max-dets: give at least 3 values (the summary reads maxDets[0], [1] and [2], as pycocotools); got ${args['max-dets']}`,
      2,
    );
  }
  const imgIds = args['img-ids'] !== undefined ? parseIntList(args['img-ids'], 'img-ids') : undefined;
  const useCats = args['use-cats'] === undefined ? true : args['use-cats'] !== 0;
  if (args['per-class'] && !useCats) throw new CliError('--per-class needs --use-cats 1 (categories are pooled with 0)');

  if (args.json !== undefined) {
    assertOutputsNotInputs([{ option: '--json', path: args.json }], [{ option: '--gt', path: args.gt }, { option: '--results', path: args.results }]);
  }
  const t0 = performance.now();
  let gt: CocoDataset;
  try {
    gt = CocoDataset.fromFile(args.gt);
  } catch (e) {
    throw toCliError(e);
  }
  const t1 = performance.now();
  let dt: CocoDataset;
  try {
    dt = gt.loadRes(args.results, { segmAreaFromBbox: !args['mask-area'] });
  } catch (e) {
    throw toCliError(e);
  }
  const unknown = dt.resultsInfo?.unknownCategory ?? 0;
  if (unknown > 0) {
    // pycocotools silently never looks at them; a category id that is not in the GT is almost always a label-mapping
    // bug (0- vs 1-based ids, a background class), so it is an error unless asked for.
    if (!args['skip-unknown-categories']) {
      const i = dt.annotations.findIndex((a) => !gt.categories.has(a.category_id));
      const a = dt.annotations[i]!;
      throw toCliError(
        new CocoFormatError(
          args.results,
          `results[${i}] (image ${a.image_id})`,
          'category_id',
          `category ${a.category_id} is not a category of ${args.gt}` +
            `${unknown > 1 ? ` (${unknown} results have unknown categories)` : ''}; --skip-unknown-categories skips them`,
        ),
      );
    }
    err(`tiedet: warning: skipped ${unknown} result(s) whose category is not in ${args.gt}\n`);
  }
  const t2 = performance.now();
  let gtUnknown = 0;
  for (const a of gt.annotations) if (!gt.categories.has(a.category_id)) gtUnknown++;
  if (gtUnknown > 0) {
    err(`tiedet: warning: ${args.gt}: ${gtUnknown} annotation(s) have a category_id that is not in 'categories'; ` +
      'they are not evaluated (as in pycocotools)\n');
  }
  const notes: string[] = [];
  const note = (m: string) => {
    notes.push(m);
    err(`tiedet: warning: ${m}\n`);
  };
  if (gt.images.size === 0) note(`${args.gt} has no images: there is nothing to evaluate, every figure is -1`);
  else if (gt.categories.size === 0) note(`${args.gt} has no categories: there is nothing to evaluate, every figure is -1`);
  const info = dt.resultsInfo;
  if (args.iou === 'segm' && info?.branch === 'bbox' && info.boxPolygons === info.count && info.count > 0) {
    note(
      `${args.results} holds boxes only (no 'segmentation'): as in pycocotools each box is scored as a rectangular mask, ` +
        'so these are not mask APs — evaluate with --iou bbox, or write the masks into the results',
    );
  }
  if (args.iou === 'segm' && info?.branch === 'bbox' && !args['mask-area'] && info.boxPolygons < info.count) {
    err('tiedet: note: the results carry both bbox and segmentation, so (as pycocotools) their area is the box area; ' +
      'it decides small/medium/large for unmatched detections — --mask-area uses the mask area\n');
  }

  const E = new CocoEval(gt, dt, args.iou, { onWarning: (m) => err(`tiedet: warning: ${m}\n`) });
  if (maxDets) E.params.maxDets = maxDets;
  E.params.useCats = useCats;
  if (imgIds) {
    const known = new Set(gt.getImgIds());
    for (const id of imgIds) {
      if (!known.has(id)) throw new CliError(`--img-ids: image ${id} is not in ${args.gt}`, 2);
    }
    E.params.imgIds = imgIds;
  }
  try {
    E.evaluate();
  } catch (e) {
    throw toCliError(e);
  }
  const t3 = performance.now();
  const acc = E.accumulate();
  const t4 = performance.now();
  const summary = E.summarize(acc);
  const t5 = performance.now();
  out(`${summary.lines.join('\n')}\n`);
  let perClass: CategoryRow[] | undefined;
  if (args['per-class'] || (args.json && useCats)) perClass = E.perCategory(acc);
  if (args['per-class'] && perClass) out(`\n${formatCategoryTable(perClass)}\n`);

  const imgSet = new Set(acc.imgIds);
  const catSet = new Set(E.params.catIds);
  let nGt = 0;
  for (const a of gt.annotations) if (imgSet.has(a.image_id) && catSet.has(a.category_id)) nGt++;
  let nDt = 0;
  for (const a of dt.annotations) if (imgSet.has(a.image_id) && catSet.has(a.category_id)) nDt++;
  const result: EvalOutput = {
    gt: args.gt,
    results: args.results,
    iouType: args.iou,
    stats: Object.fromEntries(STAT_NAMES.map((n, i) => [n, summary.stats[i]!])),
    statsArray: summary.stats,
    summary: summary.lines,
    perClass,
    params: E.params.toJSON(),
    counts: { images: acc.imgIds.length, categories: E.params.catIds.length, gtAnnotations: nGt, detections: nDt },
    warnings: [...notes, ...E.warnings],
    timing: {
      loadGtS: (t1 - t0) / 1000,
      loadResS: (t2 - t1) / 1000,
      evaluateS: (t3 - t2) / 1000,
      accumulateS: (t4 - t3) / 1000,
      summarizeS: (t5 - t4) / 1000,
    },
  };
  if (args.json) {
    try {
      mkdirSync(dirname(args.json), { recursive: true });
      writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
    } catch (e) {
      throw new CliError(`--json: cannot write ${args.json}: ${(e as Error).message}`);
    }
  }
  return result;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'COCO bbox / segm evaluation of a results file (pycocotools-identical numbers)',
  builder: (y) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'ground-truth COCO annotation JSON' })
      .option('results', { type: 'string', demandOption: true, describe: 'results JSON (a list of detections)' })
      .option('iou', { type: 'string', choices: ['bbox', 'segm'] as const, demandOption: true, describe: 'IoU type' })
      .option('per-class', { type: 'boolean', default: false, describe: 'also print AP, AP50, AP75, APs/m/l per category' })
      .option('max-dets', { type: 'string', describe: 'max detections per image, e.g. 1,10,100 (the default)' })
      .option('use-cats', { type: 'number', choices: [0, 1], describe: '0 pools all categories (proposal-style), default 1' })
      .option('img-ids', { type: 'string', describe: 'evaluate only these image ids, e.g. 42,73,74' })
      .option('mask-area', {
        type: 'boolean',
        default: false,
        describe: 'segm: use the mask area of results that also carry a bbox (pycocotools uses the box area for them)',
      })
      .option('skip-unknown-categories', {
        type: 'boolean',
        default: false,
        describe: 'skip (and count) results whose category is not in the GT instead of failing',
      })
      .option('json', { type: 'string', describe: 'write stats, per-category figures and parameters to this file' })
      .example('$0 eval --gt instances_val2017.json --results dets.json --iou bbox', 'the 12-line COCO summary')
      .example('$0 eval --gt gt.json --results segm.json --iou segm --per-class --json out.json', 'with a per-class table') as never,
  handler: async (args) => {
    await runEval(
      args,
      (s) => process.stdout.write(s),
      (s) => process.stderr.write(s),
    );
  },
};
