/**
 * `tiedet occlusion-report`: the paper's Fig. 7 analysis for any number of COCO results files (eval/occlusion-report.ts):
 * per occlusion bin and cumulative level, every model's COCO AP figures with bootstrap intervals and the gap to the
 * first (baseline) model; writes report.json, bins.csv, report.md and a self-contained report.html into --out and
 * prints AP / AP75 per bin.
 */
import type { CommandModule } from 'yargs';
import type { IouType } from '../eval/cocoeval.js';
import { buildOcclusionReport, DEFAULT_BOOTSTRAP, MAX_BOOTSTRAP, writeOcclusionReport, type OcclusionReport } from '../eval/occlusion-report.js';
import { OCCLUSION_DEFINITIONS, type OcclusionDefinition } from '../eval/occlusion.js';
import { fmtGap, fmtPoints } from '../eval/report/model.js';
import { checkBins } from './cli-args.js';
import { CliError, toCliError } from './cli-error.js';
import { assertOutputsNotInputs } from './safe-output.js';
import { join } from 'node:path';

export interface OcclusionReportArgs {
  gt: string;
  results: string[];
  iou: IouType;
  bins: number;
  definition: OcclusionDefinition;
  bootstrap: number;
  seed: number;
  confidence: number;
  out: string;
  'mask-area'?: boolean;
  'skip-unknown-categories'?: boolean;
  quiet?: boolean;
}

/**
 * `NAME=FILE` pairs (split at the first '='): non-empty name and file, unique names. Usage errors (exit 2) name the
 * offending argument.
 */
export function parseNamedResults(values: readonly string[]): { name: string; file: string }[] {
  if (values.length === 0) throw new CliError('--results: give at least one NAME=FILE', 2);
  const seen = new Map<string, number>();
  return values.map((v, i) => {
    const eq = v.indexOf('=');
    if (eq < 0) throw new CliError(`--results '${v}': expected NAME=FILE (e.g. ResNet50=r50_bbox.json)`, 2);
    const name = v.slice(0, eq).trim();
    const file = v.slice(eq + 1).trim();
    if (!name) throw new CliError(`--results '${v}': the model name before '=' is empty (expected NAME=FILE)`, 2);
    if (!file) throw new CliError(`--results '${v}': the file after '=' is empty (expected NAME=FILE)`, 2);
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new CliError(`--results: duplicate model name '${name}' (results ${prev + 1} and ${i + 1}); names must be unique`, 2);
    }
    seen.set(name, i);
    return { name, file };
  });
}

function summaryTable(report: OcclusionReport): string {
  const names = report.models.map((m) => m.name);
  const header = ['subset', 'images', ...names.flatMap((n) => [`${n} AP`, `${n} AP75`]),
    ...names.slice(1).flatMap((n) => [`Δ${n} AP`, `Δ${n} AP75`])];
  const rows = [report.overall, ...report.bins].map((row) => [
    row.label,
    String(row.images),
    ...row.models.flatMap((c) => (c.stats ? [fmtPoints(c.stats.AP), fmtPoints(c.stats.AP75)] : ['no images', ''])),
    ...row.models.slice(1).flatMap((c) => [fmtGap(c.gap?.AP), fmtGap(c.gap?.AP75)]),
  ]);
  const all = [header, ...rows];
  const w = header.map((_, j) => Math.max(...all.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

export function runOcclusionReport(
  args: OcclusionReportArgs,
  out: (s: string) => void,
  err: (s: string) => void,
): { report: OcclusionReport; files: ReturnType<typeof writeOcclusionReport> } {
  const results = parseNamedResults(args.results);
  const bins = checkBins(args.bins);
  if (!Number.isInteger(args.bootstrap) || args.bootstrap < 0 || args.bootstrap > MAX_BOOTSTRAP) {
    throw new CliError(
      `--bootstrap: expected an integer from 0 (no intervals) to ${MAX_BOOTSTRAP.toLocaleString('en-US')}, got ${String(args.bootstrap)}`,
      2,
    );
  }
  assertOutputsNotInputs(
    ['report.json', 'bins.csv', 'report.md', 'report.html'].map((f) => ({ option: '--out', path: join(args.out, f) })),
    [{ option: '--gt', path: args.gt }, ...results.map((r) => ({ option: `--results ${r.name}=`, path: r.file }))],
  );
  if (!Number.isSafeInteger(args.seed)) throw new CliError(`--seed: expected an integer, got ${String(args.seed)}`, 2);
  if (!(args.confidence > 0 && args.confidence < 1)) {
    throw new CliError(`--confidence: expected a number between 0 and 1 (e.g. 0.95), got ${String(args.confidence)}`, 2);
  }
  let report: OcclusionReport;
  try {
    report = buildOcclusionReport({
      gt: args.gt,
      results,
      iouType: args.iou,
      bins,
      definition: args.definition,
      bootstrap: args.bootstrap,
      seed: args.seed,
      confidence: args.confidence,
      segmAreaFromBbox: !args['mask-area'],
      skipUnknownCategories: args['skip-unknown-categories'] === true,
      onProgress: args.quiet ? undefined : (m) => err(`tiedet: ${m}\n`),
      onWarning: (m) => err(`tiedet: warning: ${m}\n`),
    });
  } catch (e) {
    throw toCliError(e);
  }
  let files: ReturnType<typeof writeOcclusionReport>;
  try {
    files = writeOcclusionReport(report, args.out);
  } catch (e) {
    throw new CliError(`--out: cannot write the report into ${args.out}: ${(e as Error).message.split('\n')[0]}`);
  }
  const empty = report.bins.filter((b) => b.images === 0).map((b) => b.label);
  out(`${summaryTable(report)}\n`);
  if (empty.length) out(`empty bins (no images): ${empty.join(', ')}\n`);
  out(`\nwrote ${files.html}\n      ${files.markdown}\n      ${files.json}\n      ${files.csv}\n`);
  return { report, files };
}

export const occlusionReportCommand: CommandModule<object, OcclusionReportArgs> = {
  command: 'occlusion-report',
  describe: 'AP / AP75 per occlusion bin for one or more results files, with bootstrap intervals and gaps to the first (the paper\'s Fig. 7)',
  builder: (y) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'ground-truth COCO annotation JSON' })
      .option('results', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'NAME=FILE, once per model (the first is the baseline)',
      })
      .option('iou', { type: 'string', choices: ['bbox', 'segm'] as const, demandOption: true, describe: 'IoU type' })
      .option('bins', { type: 'number', default: 10, describe: 'number of bins of width 1/bins' })
      .option('definition', {
        type: 'string',
        choices: OCCLUSION_DEFINITIONS,
        default: 'box',
        describe: 'occlusion ratio: box (default), pairwise or mask',
      })
      .option('bootstrap', { type: 'number', default: DEFAULT_BOOTSTRAP, describe: 'bootstrap resamples of the images (0 = no intervals)' })
      .option('seed', { type: 'number', default: 0, describe: 'bootstrap seed' })
      .option('confidence', { type: 'number', default: 0.95, describe: 'confidence of the bootstrap intervals' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (report.json, bins.csv, report.md, report.html)' })
      .option('mask-area', {
        type: 'boolean',
        default: false,
        describe: 'segm: use the mask area of results that also carry a bbox (pycocotools uses the box area)',
      })
      .option('skip-unknown-categories', { type: 'boolean', default: false, describe: 'skip results whose category is not in the GT' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress messages on stderr' })
      .example(
        '$0 occlusion-report --gt val.json --results ResNet50=r50.json --results TiedResNet50=tied.json --iou bbox --out work_dirs/occ',
        'compare two detectors',
      )
      .example('$0 occlusion-report --gt val.json --results Tied=segm.json --iou segm --definition mask --bins 5 --out work_dirs/occ-mask', 'mask AP by the mask-overlap definition, 5 bins') as never,
  handler: (args) => {
    runOcclusionReport(
      args,
      (s) => process.stdout.write(s),
      (s) => process.stderr.write(s),
    );
  },
};
