/**
 * `tiedet make-synthetic`: writes the synthetic occlusion dataset (data/synthetic) — COCO `instances_train.json` /
 * `instances_val.json`, PNG images in train/ and val/, and a README with the achieved occlusion histogram.
 * Progress goes to stderr (every 10 %), the summary to stdout.
 */
import type { CommandModule } from 'yargs';
import {
  generateSynthetic,
  PRESET_NAMES,
  SyntheticOptionError,
  SyntheticOutputError,
  type SyntheticResult,
} from '../data/synthetic/index.js';
import { OCCLUSION_BINS } from '../data/synthetic/stats.js';
import { CliError } from './cli-error.js';

export interface MakeSyntheticArgs {
  preset: string;
  out: string;
  images?: number;
  size?: number;
  seed?: number;
  overwrite?: boolean;
  quiet?: boolean;
}

/** The summary printed after a run. */
export function formatSummary(r: SyntheticResult): string {
  const { config: c, stats } = r;
  const lines = [
    `wrote the ${c.preset} synthetic dataset to ${r.out} in ${r.seconds.toFixed(1)} s`,
    `  ${c.size}×${c.size}, ${c.classes.length} classes (${c.classes.join(', ')}), seed ${c.seed}`,
    `  train: ${stats.train.images} images, ${stats.train.annotations} objects → ${r.annotationFiles.train}`,
    `  val:   ${stats.val.images} images, ${stats.val.annotations} objects → ${r.annotationFiles.val}`,
    '',
    'occlusion ratio   train     val',
  ];
  for (let b = 0; b < OCCLUSION_BINS; b++) {
    const label = `[${(b / OCCLUSION_BINS).toFixed(1)}, ${((b + 1) / OCCLUSION_BINS).toFixed(1)}${b === OCCLUSION_BINS - 1 ? ']' : ')'}`;
    lines.push(`${label.padEnd(16)}${String(stats.train.occlusionHistogram[b]).padStart(7)}${String(stats.val.occlusionHistogram[b]).padStart(8)}`);
  }
  lines.push(`${'r ≥ 0.8'.padEnd(16)}${String(stats.train.atLeast08).padStart(7)}${String(stats.val.atLeast08).padStart(8)}`);
  const missed = stats.train.missedTarget + stats.val.missedTarget;
  if (missed > 0) lines.push(`(${missed} image(s) missed their target bin; the closest attempt was kept)`);
  return `${lines.join('\n')}\n`;
}

export async function runMakeSynthetic(
  args: MakeSyntheticArgs,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<SyntheticResult> {
  let lastTenth = -1;
  try {
    const result = await generateSynthetic({
      preset: args.preset,
      out: args.out,
      images: args.images,
      size: args.size,
      seed: args.seed,
      overwrite: args.overwrite,
      onProgress: args.quiet
        ? undefined
        : ({ split, done, total }) => {
            const tenth = Math.floor((10 * done) / total);
            if (done === 1) lastTenth = 0;
            if (tenth > lastTenth) {
              lastTenth = tenth;
              err(`make-synthetic: ${split} ${done}/${total} (${tenth * 10} %)\n`);
            }
          },
    });
    out(formatSummary(result));
    return result;
  } catch (e) {
    if (e instanceof SyntheticOptionError) throw new CliError(`--${e.option}: ${e.reason}`, 2);
    if (e instanceof SyntheticOutputError) throw new CliError(e.message, 1);
    throw e;
  }
}

export const makeSyntheticCommand: CommandModule<object, MakeSyntheticArgs> = {
  command: 'make-synthetic',
  describe: 'Generate the synthetic occlusion dataset (COCO JSON + PNG images, occlusion ratios spanning 0–1)',
  builder: (y) =>
    y
      .option('preset', {
        type: 'string',
        choices: PRESET_NAMES,
        default: 'tiny',
        describe: 'tiny: 128×128, 3 classes, 320 + 80 images; small: 256×256, 8 classes, 2400 + 400 images',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder (created if needed)' })
      .option('images', { type: 'number', describe: 'total number of images (train + val, split as the preset)' })
      .option('size', { type: 'number', describe: 'image side in pixels (default: the preset\'s)' })
      .option('seed', { type: 'number', describe: 'seed, an integer 0…4294967295 (default 0); same seed → same bytes' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace a dataset already in --out' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress lines on stderr' })
      .example('$0 make-synthetic --preset tiny --out work_dirs/synthetic-tiny', 'the demo / test dataset (a few seconds)')
      .example('$0 make-synthetic --preset small --out work_dirs/synthetic-small --seed 1', '2800 images, 8 classes') as never,
  handler: async (args) => {
    await runMakeSynthetic(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
