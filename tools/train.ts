/**
 * `tiedet train CONFIG [--work-dir DIR] [--resume [PATH]] [--weights W.pth [--strict]] [--cfg-options a.b=c …] [--seed N] [--auto-scale-lr]` —
 * mmdetection's tools/train.py: load the config (configs/load.ts), train it (tools/runner/run-train.ts:
 * progress bar, log.jsonl, checkpoints, evaluation on the val split, save-best), print where everything is.
 * TF.js and the data pipeline load only when the command runs.
 */
import type { CommandModule } from 'yargs';
import { engineOptions } from './cli-args.js';
import { CliError, runCliError } from './cli-error.js';

export interface TrainArgs {
  config: string;
  'work-dir'?: string;
  resume?: string | boolean;
  'cfg-options'?: string[];
  seed?: number;
  'auto-scale-lr'?: boolean;
  'allow-config-change'?: boolean;
  'max-iters'?: number;
  weights?: string;
  strict?: boolean;
  backend?: string;
  threads?: number;
}

export async function runTrain(args: TrainArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  if (args.seed !== undefined && !(Number.isInteger(args.seed) && args.seed >= 0 && args.seed < 2 ** 32)) {
    throw new CliError(`--seed: expected an integer from 0 to 4294967295, got ${args.seed}`, 2);
  }
  if (args['max-iters'] !== undefined && !(Number.isInteger(args['max-iters']) && args['max-iters'] >= 1)) {
    throw new CliError(`--max-iters: expected a positive integer, got ${args['max-iters']}`, 2);
  }
  try {
    const { loadConfig } = await import('../configs/load.js');
    const cfgOptions = [...(args['cfg-options'] ?? []).map(String)];
    if (args['auto-scale-lr']) cfgOptions.push('train.autoScaleLr=true');
    const cfg = await loadConfig(args.config, { cfgOptions, seed: args.seed });
    const { initEngine } = await import('../src/engine/index.js');
    const engine = await initEngine({ backend: args.backend as never, threads: args.threads });
    err(`tiedet train: ${cfg.name} (${cfg.file}) on ${engine.backend}${engine.backend === 'wasm' ? ` ×${engine.threads}` : ''}\n`);
    for (const n of cfg.notes) err(`tiedet: note: ${n}\n`);
    const { trainExperiment } = await import('./runner/run-train.js');
    const resume = args.resume === '' ? true : args.resume;
    const r = await trainExperiment(cfg, {
      workDir: args['work-dir'],
      resume,
      allowConfigChange: args['allow-config-change'],
      stopAfter: args['max-iters'],
      weights: args.weights,
      strictWeights: args.strict,
      log: (line) => err(`${line}\n`),
    });
    const done = r.status === 'completed' ? 'finished' : r.status === 'interrupted' ? 'interrupted (Ctrl-C)' : `stopped after --max-iters ${args['max-iters']}`;
    out(`train ${done}: ${r.iteration}/${r.totalIters} iterations in ${r.seconds.toFixed(1)} s\n`);
    if (r.metrics) out(`last evaluation: ${Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}\n`);
    if (r.best) out(`best ${r.best.key} ${r.best.value.toFixed(4)} at iteration ${r.best.iteration}: ${r.workDir}/${r.best.checkpoint}\n`);
    out(`work dir:   ${r.workDir}\n`);
    out(`checkpoint: ${r.checkpoint ?? 'none'}\n`);
    out(`log:        ${r.logFile}\n`);
    out(`config:     ${r.configFile}\n`);
    if (r.status !== 'completed') out(`resume with: tiedet train ${args.config} --work-dir ${r.workDir} --resume\n`);
  } catch (e) {
    throw await runCliError(e);
  }
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train <config>',
  describe: 'Train a detector from a config (a file or a name in configs/): checkpoints, log.jsonl, evaluation, resume',
  builder: (y) =>
    engineOptions(y)
      .positional('config', { type: 'string', demandOption: true, describe: 'config file (.ts/.js) or name in configs/, e.g. retinanet_tiedresnet_synthetic_tiny' })
      .option('work-dir', { type: 'string', describe: 'where checkpoints, log.jsonl and config.json go (default work_dirs/<config name>)' })
      .option('resume', {
        type: 'string',
        describe: 'continue from the latest checkpoint of the work dir (no value) or from PATH (a checkpoint .json / its stem / a folder)',
      })
      .option('cfg-options', { type: 'string', array: true, describe: 'override config fields: a.b=c (e.g. train.lr=0.005 data.batchSize=4)' })
      .option('seed', { type: 'number', describe: 'seed of the initialisation, data order and augmentation (train.seed)' })
      .option('auto-scale-lr', { type: 'boolean', describe: 'scale train.lr by the effective batch / train.baseBatchSize (linear rule)' })
      .option('allow-config-change', { type: 'boolean', describe: 'resume even if the checkpoint was trained with another config' })
      .option('max-iters', { type: 'number', describe: 'stop (saving a checkpoint) after this many iterations in total' })
      .option('weights', { type: 'string', describe: "initialise the detector from PyTorch weights (.pth / .safetensors, mmdetection names) to fine-tune — mmdetection's load_from; not a resume" })
      .option('strict', { type: 'boolean', describe: 'with --weights: every key must match (default false: keys of another head are reported, not loaded)' })
      .example('$0 train mask-rcnn_tiedresnet_synthetic_tiny', 'train the demo\'s detector (npm run demo) into work_dirs/mask-rcnn_tiedresnet_synthetic_tiny')
      .example('$0 train retinanet_tiedresnet50_fpn_2x_coco --cfg-options data.train.annFile=/coco/ann/train.json', 'point a COCO config elsewhere')
      .example('$0 train configs/my_config.ts --resume', 'continue an interrupted run')
      .example('$0 train mask-rcnn_r50_fpn_2x_coco --weights mask_rcnn_r50_fpn_2x_coco.pth', 'fine-tune from an mmdetection checkpoint') as never,
  handler: async (args) => {
    await runTrain(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
