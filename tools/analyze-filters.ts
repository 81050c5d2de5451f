/**
 * `tiedet analyze-filters --config C [--config C2 …] --weights W [--weights W2 …] --images DIR [--layers c2,c5] [--filters N]
 * [--images-max M] [--names a,b] [--seed S] --out DIR` — the filter-redundancy measure of the paper's Fig. 1 / 9:
 * per backbone stage, the pairwise cosine similarity of the filters' guided-backpropagation patterns averaged
 * over sampled images, and of the filter weights; histograms model against model (tools/runner/filters.ts,
 * src/analysis/, eval/filter-report.ts). Writes report.html, report.md and report.json into DIR. TF.js loads
 * only when the command runs.
 */
import type { CommandModule } from 'yargs';
import { engineOptions } from './cli-args.js';
import { CliError, runCliError } from './cli-error.js';

export interface AnalyzeFiltersArgs {
  config: string[];
  weights: string[];
  images: string;
  layers?: string;
  filters?: number;
  'images-max'?: number;
  names?: string;
  seed?: number;
  out: string;
  'cfg-options'?: string[];
  backend?: string;
  threads?: number;
}

export async function runAnalyzeFilters(args: AnalyzeFiltersArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  try {
    const { analyzeFilters, checkFilterOptions, FilterInputError, listImages, parseStages } = await import('./runner/filters.js');
    const { assertOutputDirNotInputDir, assertOutputsNotInputs } = await import('./safe-output.js');
    const weights = (args.weights ?? []).map(String);
    const names = args.names !== undefined ? String(args.names).split(',').map((s) => s.trim()) : undefined;
    const stages = args.layers !== undefined ? parseStages(String(args.layers)) : undefined;
    const seed = args.seed;
    if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw new CliError(`--seed: expected a non-negative integer, got ${seed}`, 2);
    try {
      checkFilterOptions({ weights, names, filters: args.filters, imagesMax: args['images-max'] });
      listImages(args.images);
    } catch (e) {
      if (e instanceof FilterInputError) throw new CliError(e.message, 2);
      throw e;
    }
    assertOutputDirNotInputDir({ option: '--out', path: args.out }, [{ option: '--images', path: args.images }]);
    const { join } = await import('node:path');
    const files = ['report.json', 'report.md', 'report.html'].map((f) => ({ option: '--out', path: join(args.out, f) }));
    assertOutputsNotInputs(files, weights.map((w) => ({ option: '--weights', path: w })));

    const { loadConfig } = await import('../configs/load.js');
    const specs = (args.config ?? []).map(String);
    if (specs.length !== 1 && specs.length !== weights.length) {
      throw new CliError(`--config: ${specs.length} configs for ${weights.length} --weights; give one config, or one per --weights`, 2);
    }
    const cfgs = [];
    for (const spec of specs) cfgs.push(await loadConfig(spec, { cfgOptions: (args['cfg-options'] ?? []).map(String) }));
    const cfg = cfgs.length === 1 ? cfgs[0]! : cfgs;
    const cfgName = cfgs.map((c) => c.name).join(', ');
    const { initEngine } = await import('../src/engine/index.js');
    const engine = await initEngine({ backend: args.backend as never, threads: args.threads });
    err(`tiedet analyze-filters: ${cfgName} on ${engine.backend}${engine.backend === 'wasm' ? ` ×${engine.threads}` : ''}\n`);
    let report;
    try {
      report = await analyzeFilters({ cfg, weights, names, images: args.images, stages, filters: args.filters, imagesMax: args['images-max'], seed, log: (l) => err(`${l}\n`) });
    } catch (e) {
      if (e instanceof FilterInputError) throw new CliError(e.message, 1);
      throw e;
    }
    const { writeFilterReport } = await import('../eval/filter-report.js');
    const written = writeFilterReport(report, args.out);
    for (const m of report.models) {
      const means = m.stages.map((s) => `${s.stage.toUpperCase()} ${m.summary[s.stage]!.guided?.mean.toFixed(3) ?? 'n/a'}`).join('  ');
      out(`${m.name}: mean guided-pattern cosine similarity  ${means}\n`);
    }
    out(`filter report: ${written.html}\n`);
  } catch (e) {
    throw await runCliError(e);
  }
}

export const analyzeFiltersCommand: CommandModule<object, AnalyzeFiltersArgs> = {
  command: 'analyze-filters',
  describe: 'Filter redundancy (the paper\'s Fig. 1 / 9): pairwise cosine similarity of guided-backprop patterns and weights per stage, model against model',
  builder: (y) =>
    engineOptions(y)
      .option('config', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'config file or name in configs/ (builds the detector whose backbone is analysed): one for all --weights, or one per --weights',
      })
      .option('weights', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: "one per model: a tiedet checkpoint (.json or a work dir), .safetensors / .pth, or 'init' (untrained)",
      })
      .option('images', { type: 'string', demandOption: true, describe: 'folder of .png / .jpg images (resized to the config scale)' })
      .option('layers', { type: 'string', describe: 'stages to analyse: c2,c3,c4,c5 (default all)' })
      .option('filters', { type: 'number', describe: 'filters sampled per stage for the guided view (default 32)' })
      .option('images-max', { type: 'number', describe: 'images sampled from the folder (default 8)' })
      .option('names', { type: 'string', describe: 'model names for the report, comma-separated, one per --weights' })
      .option('seed', { type: 'number', describe: 'seed of the filter and image samples (default 0)' })
      .option('out', { type: 'string', demandOption: true, describe: 'folder for report.html, report.md, report.json' })
      .option('cfg-options', { type: 'string', array: true, describe: 'override config fields: a.b=c (e.g. data.scale=[96,96])' })
      .example(
        '$0 analyze-filters --config retinanet_resnet_synthetic_tiny --config retinanet_tiedresnet_synthetic_tiny --weights work_dirs/r --weights work_dirs/t --names ResNet,TiedResNet --images work_dirs/synthetic-tiny/val --out work_dirs/filters',
        'a ResNet and a TiedResNet detector, each with its own config',
      )
      .example(
        '$0 analyze-filters --config retinanet_tiedresnet_synthetic_tiny --weights init --weights work_dirs/retinanet_tiedresnet_synthetic_tiny --names init,trained --images work_dirs/synthetic-tiny/val --out work_dirs/filters',
        'untrained vs trained TiedResNet',
      ) as never,
  handler: async (args) => {
    await runAnalyzeFilters(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
