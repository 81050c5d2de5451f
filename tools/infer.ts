/**
 * `tiedet infer --model torchvision:NAME | --config NAME --weights W --images DIR|GLOB --out DIR [--score-thr S] [--render]
 * [--batch N]` — a detector on any folder of images: COCO results JSON + an images JSON (so `tiedet eval` /
 * `tiedet render` work without ground truth), optional rendered images with a gallery, a progress bar, streaming
 * (tools/infer/run.ts). Unreadable images are reported (one line each) and skipped; the exit code is non-zero only
 * if no image could be read. `--weights` goes through detectors/torchvision/weights.ts `loadDetectorWeights`
 * (src/io/weights-file.ts reads the file). TF.js loads only when the command runs.
 */
import type { CommandModule } from 'yargs';
import { engineOptions } from './cli-args.js';
import { DEFAULT_SCORE_THR } from './render/defaults.js';
import { CliError } from './cli-error.js';
import type { InferModel } from './infer/run.js';

export interface InferArgs {
  model?: string;
  config?: string;
  weights: string;
  images: string;
  out: string;
  'score-thr'?: number;
  render?: boolean;
  batch?: number;
  'cfg-options'?: string[];
  backend?: string;
  threads?: number;
}

export async function runInferCommand(args: InferArgs, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  if ((args.config === undefined) === (args.model === undefined)) throw new CliError('give either --config NAME or --model torchvision:NAME', 2);
  const batch = args.batch ?? 1;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new CliError(`--batch: expected a positive integer, got ${batch}`, 2);
  const thr = args['score-thr'];
  if (thr !== undefined && !(thr >= 0 && thr <= 1)) throw new CliError(`--score-thr: expected a number in [0, 1], got ${thr}`, 2);
  const models = await import('./infer/models.js');
  const { listImages } = await import('./infer/inputs.js');
  let list;
  try {
    if (args.model !== undefined) models.torchvisionConfig(args.model); // an unknown name is a usage error
    list = listImages(args.images);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const { initEngine } = await import('../src/engine/index.js');
  const engine = await initEngine({ backend: args.backend as never, threads: args.threads });
  const { runInfer } = await import('./infer/run.js');
  let model: InferModel;
  let dispose: () => void;
  try {
    if (args.model !== undefined) {
      const m = models.loadTorchvisionModel(args.model, args.weights);
      [model, dispose] = [models.torchvisionInferModel(m), () => m.dispose()];
    } else {
      const { loadConfig, buildModel, categoryCount } = await import('../configs/load.js');
      const cfg = await loadConfig(args.config!, { cfgOptions: (args['cfg-options'] ?? []).map(String) });
      const { configInferModel } = await import('./infer/config-model.js');
      const m = buildModel(cfg, categoryCount(cfg.data.data.val.annFile), cfg.data.data.val.annFile);
      try {
        [model, dispose] = [configInferModel(cfg, m, args.weights), () => m.dispose()];
      } catch (e) {
        m.dispose();
        throw e;
      }
    }
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  try {
    err(`tiedet infer: ${args.model ?? args.config} on ${engine.backend}${engine.backend === 'wasm' ? ` ×${engine.threads}` : ''}, ${list.files.length} images\n`);
    const s = await runInfer({ model, images: list, out: args.out, scoreThr: thr, batch, render: args.render });
    out(`wrote ${s.detections} detections on ${s.read} images to ${s.results} (images: ${s.imagesJson})\n`);
    out(`${s.read} images in ${s.seconds.toFixed(1)} s (${s.imagesPerSecond.toFixed(2)} images/s)\n`);
    if (s.droppedNonCoco > 0) out(`${s.droppedNonCoco} detections of background / N/A labels not written\n`);
    if (s.gallery) out(`rendered: ${s.gallery}\n`);
    if (s.skipped.length > 0) out(`skipped ${s.skipped.length} unreadable image(s): ${s.skipped.map((x) => x.file).join(', ')}\n`);
    if (s.read === 0) throw new CliError(`none of the ${s.images} images could be read`);
  } finally {
    dispose();
  }
}

export const inferCommand: CommandModule<object, InferArgs> = {
  command: 'infer',
  describe: 'Run a detector (torchvision COCO presets) on a folder of images: COCO results + images JSON, optional rendering',
  builder: (y) =>
    engineOptions(y)
      .option('model', { type: 'string', describe: 'torchvision:maskrcnn_resnet50_fpn | torchvision:fasterrcnn_resnet50_fpn | torchvision:retinanet_resnet50_fpn' })
      .option('config', { type: 'string', describe: 'a tiedet config (file or name in configs/); --weights: safetensors with its (mmdetection) key names' })
      .option('weights', { type: 'string', demandOption: true, describe: 'weights file (.safetensors with torchvision state-dict keys)' })
      .option('images', { type: 'string', demandOption: true, describe: 'folder of images, or a glob such as photos/*.jpg' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder: results.json, images.json, summary.json, render/' })
      .option('score-thr', { type: 'number', describe: `write detections scoring at least this (default: all the model keeps); also the drawing threshold (default ${DEFAULT_SCORE_THR}, as render and test)` })
      .option('render', { type: 'boolean', describe: 'draw the detections and write a gallery into OUT/render' })
      .option('batch', { type: 'number', describe: 'images per forward pass (default 1)' })
      .option('cfg-options', { type: 'string', array: true, describe: 'with --config: override config fields, a.b=c (e.g. data.val.annFile=… for the category ids)' })
      .example(
        '$0 infer --model torchvision:maskrcnn_resnet50_fpn --weights maskrcnn_resnet50_fpn_coco.safetensors --images val2017 --out work_dirs/infer',
        'COCO val2017 with torchvision\'s Mask R-CNN',
      )
      .example('$0 infer --config mask-rcnn_tiedresnet_synthetic_tiny --weights model.safetensors --images "photos/*.jpg" --out work_dirs/mine --render', 'a tiedet config on your own photos, with a gallery') as never,
  handler: async (args) => {
    await runInferCommand(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  },
};
