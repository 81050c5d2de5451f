/**
 * `tiedet test CONFIG (CKPT | --weights W.pth) --out results.json [--eval bbox,segm] [--occlusion-report DIR] [--render DIR]` —
 * mmdetection's tools/test.py: predictions of a checkpoint on the config's val split → COCO results JSON →
 * pycocotools' summary printed per IoU type → optionally the occlusion report and rendered predictions with a
 * gallery (tools/runner/run-test.ts). TF.js loads only when the command runs.
 */
import type { CommandModule } from 'yargs';
import type { IouType } from '../eval/cocoeval.js';
import { MAX_BOOTSTRAP } from '../eval/occlusion-report.js';
import { engineOptions } from './cli-args.js';
import { DEFAULT_SCORE_THR } from './render/defaults.js';
import { CliError, runCliError } from './cli-error.js';

export interface TestArgs {
  config: string;
  checkpoint?: string;
  weights?: string;
  strict?: boolean;
  out: string;
  eval?: string;
  'occlusion-report'?: string;
  bootstrap?: number;
  render?: string;
  'render-count'?: number;
  'score-thr'?: number;
  'cfg-options'?: string[];
  'allow-config-change'?: boolean;
  backend?: string;
  threads?: number;
}

/** `--eval bbox,segm` → the IoU types. */
export function parseEvalTypes(text: string | undefined): IouType[] {
  if (text === undefined) return [];
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new CliError(`--eval: expected bbox, segm or bbox,segm, got '${text}'`, 2);
  for (const p of parts) if (p !== 'bbox' && p !== 'segm') throw new CliError(`--eval: unknown metric '${p}' (expected bbox or segm)`, 2);
  return [...new Set(parts)] as IouType[];
}

export async function runTest(args: TestArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  const evalTypes = parseEvalTypes(args.eval);
  const count = args['render-count'];
  if (count !== undefined && !(Number.isInteger(count) && count >= 1)) throw new CliError(`--render-count: expected a positive integer, got ${count}`, 2);
  const bootstrap = args.bootstrap;
  if (bootstrap !== undefined && !(Number.isInteger(bootstrap) && bootstrap >= 0 && bootstrap <= MAX_BOOTSTRAP)) {
    throw new CliError(`--bootstrap: expected an integer from 0 to ${MAX_BOOTSTRAP.toLocaleString('en-US')}, got ${bootstrap}`, 2);
  }
  const scoreThr = args['score-thr'];
  if (scoreThr !== undefined && !(scoreThr >= 0 && scoreThr <= 1)) throw new CliError(`--score-thr: expected a number in [0, 1], got ${scoreThr}`, 2);
  if ((args.checkpoint === undefined) === (args.weights === undefined)) {
    throw new CliError('give a tiedet checkpoint (CHECKPOINT) or PyTorch weights (--weights FILE), exactly one of them', 2);
  }
  try {
    const { loadConfig } = await import('../configs/load.js');
    const cfg = await loadConfig(args.config, { cfgOptions: (args['cfg-options'] ?? []).map(String) });
    const { initEngine } = await import('../src/engine/index.js');
    const engine = await initEngine({ backend: args.backend as never, threads: args.threads });
    err(`tiedet test: ${cfg.name} (${cfg.file}) on ${engine.backend}${engine.backend === 'wasm' ? ` ×${engine.threads}` : ''}\n`);
    for (const n of cfg.notes) err(`tiedet: note: ${n}\n`);
    const { testExperiment } = await import('./runner/run-test.js');
    const r = await testExperiment(cfg, args.checkpoint ?? null, {
      weights: args.weights,
      strictWeights: args.strict,
      out: args.out,
      eval: evalTypes,
      occlusionReport: args['occlusion-report'],
      bootstrap,
      render: args.render,
      renderCount: count,
      renderScoreThr: scoreThr,
      allowConfigChange: args['allow-config-change'],
      log: (line) => err(`${line}\n`),
    });
    out(`wrote ${r.detections} detections on ${r.images} images to ${r.resultsFile}\n`);
    for (const iou of evalTypes) {
      out(`\n${iou}:\n${r.evaluation!.summaries[iou]!.join('\n')}\n`);
    }
    if (r.occlusion) out(`\nocclusion report: ${r.occlusion.files.html}\n`);
    if (r.render) out(`rendered ${r.render.rendered} images: ${r.render.gallery}\n`);
  } catch (e) {
    throw await runCliError(e);
  }
}

export const testCommand: CommandModule<object, TestArgs> = {
  command: 'test <config> [checkpoint]',
  describe: 'Test a checkpoint on the config\'s val split: COCO results JSON, evaluation, occlusion report, rendered predictions',
  builder: (y) =>
    engineOptions(y)
      .positional('config', { type: 'string', demandOption: true, describe: 'config file or name in configs/ (the one the checkpoint was trained with)' })
      .positional('checkpoint', { type: 'string', describe: 'checkpoint .json (or its stem, a tensor file, or a work dir for its latest); or use --weights' })
      .option('weights', { type: 'string', describe: 'PyTorch weights instead of a checkpoint: .pth (state dict, mmdetection 2.x/3.x checkpoint) or .safetensors' })
      .option('strict', { type: 'boolean', describe: 'with --weights: every key must match (default true; --no-strict loads what matches and reports the rest)' })
      .option('out', { type: 'string', demandOption: true, describe: 'COCO results JSON to write' })
      .option('eval', { type: 'string', describe: 'evaluate: bbox, segm or bbox,segm (pycocotools summary)' })
      .option('occlusion-report', { type: 'string', describe: 'write the occlusion report (HTML, Markdown, JSON, CSV) into this folder' })
      .option('bootstrap', { type: 'number', describe: 'bootstrap replicates of the occlusion report (default 200; 0 = no intervals)' })
      .option('render', { type: 'string', describe: 'render predictions next to the ground truth, with an index.html gallery, into this folder' })
      .option('render-count', { type: 'number', describe: 'images to render, spread from least to most occluded (default 16)' })
      .option('score-thr', { type: 'number', describe: `draw detections scoring at least this (default ${DEFAULT_SCORE_THR}, as render and infer)` })
      .option('cfg-options', { type: 'string', array: true, describe: 'override config fields: a.b=c (e.g. data.val.annFile=… test.scoreThr=0.1)' })
      .option('allow-config-change', { type: 'boolean', describe: 'test even if the checkpoint was trained with another config' })
      .example(
        '$0 test retinanet_tiedresnet_synthetic_tiny work_dirs/retinanet_tiedresnet_synthetic_tiny --out results.json --eval bbox',
        'evaluate the latest checkpoint of a run',
      )
      .example('$0 test mask-rcnn_r50_fpn_2x_coco --weights mask_rcnn_r50_fpn_2x_coco.pth --out results.json --eval bbox,segm', 'evaluate an mmdetection checkpoint') as never,
  handler: async (args) => {
    await runTest(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
