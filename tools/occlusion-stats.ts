/**
 * `tiedet occlusion-stats`: the distribution of the per-image occlusion ratio r over a COCO ground truth
 * (eval/occlusion.ts, eval/occlusion-bins.ts) — counts and instances per bin with a text histogram, the cumulative
 * levels r ≥ t, mean / median / max. --json writes the distribution and every image's r.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { CocoDataset } from '../eval/coco.js';
import { formatDistribution, occlusionDistribution } from '../eval/occlusion-bins.js';
import { imageOcclusionRatios, OCCLUSION_DEFINITION_TEXT, OCCLUSION_DEFINITIONS, type OcclusionDefinition } from '../eval/occlusion.js';
import { checkBins } from './cli-args.js';
import { CliError, toCliError } from './cli-error.js';
import { assertOutputsNotInputs } from './safe-output.js';

export interface OcclusionStatsArgs {
  gt: string;
  bins: number;
  definition: OcclusionDefinition;
  json?: string;
}

export function runOcclusionStats(args: OcclusionStatsArgs, out: (s: string) => void): ReturnType<typeof occlusionDistribution> {
  const n = checkBins(args.bins);
  if (args.json !== undefined) assertOutputsNotInputs([{ option: '--json', path: args.json }], [{ option: '--gt', path: args.gt }]);
  let gt: CocoDataset;
  let ratios: Map<number, number>;
  try {
    gt = CocoDataset.fromFile(args.gt);
    ratios = imageOcclusionRatios(gt, args.definition);
  } catch (e) {
    throw toCliError(e);
  }
  const instances = new Map<number, number>();
  let crowd = 0;
  for (const a of gt.annotations) {
    if (a.iscrowd) crowd++;
    else instances.set(a.image_id, (instances.get(a.image_id) ?? 0) + 1);
  }
  const d = occlusionDistribution(ratios, instances, n);
  if (d.images === 0) throw new CliError(`${args.gt}: the ground truth has no images`);
  if (d.instances === 0) {
    throw new CliError(`${args.gt}: the ground truth has no (non-crowd) annotations — the occlusion ratio needs ground-truth boxes`);
  }
  const def = OCCLUSION_DEFINITION_TEXT[args.definition];
  out(`${args.gt}: ${d.images} images, ${d.instances} non-crowd instances (${crowd} crowd)\n`);
  out(`occlusion ratio '${args.definition}': ${def.formula}\n`);
  out(`mean ${d.mean.toFixed(3)}, median ${d.median.toFixed(3)}, max ${d.max.toFixed(3)}; ` +
    `${d.imagesWithTwoOrMore} images have two or more instances (the others have r = 0)\n\n`);
  out(`${formatDistribution(d)}\n`);
  if (args.json) {
    const value = {
      gt: args.gt,
      definition: { name: args.definition, formula: def.formula, text: def.text },
      ...d,
      crowd,
      ratios: [...ratios].map(([id, r]) => ({ id, r })),
    };
    try {
      mkdirSync(dirname(args.json), { recursive: true });
      writeFileSync(args.json, `${JSON.stringify(value, null, 1)}\n`);
    } catch (e) {
      throw new CliError(`--json: cannot write ${args.json}: ${(e as Error).message}`);
    }
  }
  return d;
}

export const occlusionStatsCommand: CommandModule<object, OcclusionStatsArgs> = {
  command: 'occlusion-stats',
  describe: 'Distribution of the per-image occlusion ratio over a COCO ground truth (histogram, counts per bin)',
  builder: (y) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'ground-truth COCO annotation JSON' })
      .option('bins', { type: 'number', default: 10, describe: 'number of bins of width 1/bins' })
      .option('definition', {
        type: 'string',
        choices: OCCLUSION_DEFINITIONS,
        default: 'box',
        describe: 'box: union of the other boxes; pairwise: summed pairwise overlaps (capped at 1); mask: other instances\' visible masks inside each box',
      })
      .option('json', { type: 'string', describe: 'write the distribution and every image\'s r to this file' })
      .example('$0 occlusion-stats --gt instances_val2017.json', 'images per occlusion bin')
      .example('$0 occlusion-stats --gt val.json --definition pairwise --bins 5 --json occ.json', 'another definition, every image\'s r as JSON') as never,
  handler: (args) => {
    runOcclusionStats(args, (s) => process.stdout.write(s));
  },
};
