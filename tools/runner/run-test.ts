/**
 * Testing a checkpoint of an experiment config — what `tiedet test` and the demo call (mmdetection's
 * tools/test.py with `--out` and `CocoMetric`): the detector of the config with the checkpoint's weights, every
 * image of the val split through `predict`, COCO results JSON written, optional COCO evaluation (pycocotools'
 * summary), the occlusion report (eval/occlusion-report.ts, the paper's Fig. 7) and rendered predictions with a
 * gallery (tools/render).
 *
 * Checkpoint checks, before any weight is loaded: the checkpoint's config hash must equal the config's; when it
 * differs but the config.json next to the checkpoint shows the same model (only training settings changed), the
 * test proceeds with a note; otherwise the error lists what differs. Loading is strict: a missing, unexpected or
 * mis-shaped tensor is an error naming the file and the keys.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { IouType } from '../../eval/cocoeval.js';
import { buildOcclusionReport, writeOcclusionReport, type WrittenReport } from '../../eval/occlusion-report.js';
import { imageOcclusionRatios } from '../../eval/occlusion.js';
import type { OcclusionReport } from '../../eval/report/model.js';
import { loadCheckpointWeights, readCheckpointState, resolveCheckpointPath } from '../../src/train/checkpoint-state.js';
import { formatWeightsReport, loadWeightsInto } from '../../src/io/weights.js';
import {
  buildModel,
  describeModel,
  diffConfigs,
  readResolvedConfig,
  trainingHash,
  trainingSettings,
  type LoadedConfig,
} from '../../configs/load.js';
import type { RenderSummary } from '../render/render.js';
import { DEFAULT_SCORE_THR } from '../render/defaults.js';
import { loaderOptions, loadDataset } from './data.js';
import { DataLoader } from '../../data/loader.js';
import { cocoResults, evaluateResults, predictDataset, type EvaluationResult, type PredictProgress } from './inference.js';

export interface TestExperimentOptions {
  /** Where the COCO results JSON goes. */
  out: string;
  /** IoU types to evaluate (none: only write the results). */
  eval?: readonly IouType[];
  /** Write the occlusion report into this folder. */
  occlusionReport?: string;
  /** Bootstrap replicates of the occlusion report (default 200). */
  bootstrap?: number;
  /** Render predictions (side by side with the ground truth) and a gallery into this folder. */
  render?: string;
  /** How many val images to render (default 16), spread over the occlusion range. */
  renderCount?: number;
  /** Detections drawn: score ≥ this (default 0.3). */
  renderScoreThr?: number;
  /** Test even if the checkpoint's config differs. */
  allowConfigChange?: boolean;
  /** PyTorch weights (.pth / .safetensors, mmdetection names) instead of a tiedet checkpoint (pass ckpt null). */
  weights?: string;
  /** With `weights`: every key must match (default true). */
  strictWeights?: boolean;
  log?: (line: string) => void;
  onProgress?: (p: PredictProgress) => void;
}

export interface TestExperimentResult {
  checkpoint: string;
  resultsFile: string;
  images: number;
  detections: number;
  evaluation: EvaluationResult | null;
  occlusion: { report: OcclusionReport; files: WrittenReport } | null;
  render: RenderSummary | null;
  /** Seconds of the inference pass. */
  inferenceSeconds: number;
}

/** Resolves the checkpoint and checks it was written for this config (see the file comment); returns its JSON path. */
export function checkTestCheckpoint(ckpt: string, cfg: LoadedConfig, configHash: string, modelHash: string, allow: boolean, log: (s: string) => void): string {
  const path = resolveCheckpointPath(ckpt);
  const state = readCheckpointState(path);
  if (!state.configHash || state.configHash === configHash || allow) return path;
  const saved = readResolvedConfig(dirname(path));
  if (saved && saved.configHash === state.configHash) {
    if (saved.modelHash === modelHash) {
      const diff = diffConfigs(trainingSettings(saved.config), trainingSettings(cfg.data));
      log(`note: ${path} was trained with different training settings (${diff.slice(0, 3).join('; ') || 'see config.json'}); the model is the same`);
      return path;
    }
    throw new Error(
      `${path}: the checkpoint holds a different model (${saved.model.type} from ${saved.name}, model hash ${saved.modelHash}) ` +
        `than ${cfg.name} builds (model hash ${modelHash}); test it with the config it was trained with (${saved.source})`,
    );
  }
  throw new Error(
    `${path}: the checkpoint was trained with config ${state.configHash}, ${cfg.name} resolves to ${configHash} ` +
      '(no config.json next to the checkpoint to compare); use the same config and --cfg-options, or --allow-config-change',
  );
}

/** Up to `n` image ids spread evenly over the images sorted by occlusion ratio (least to most occluded). */
export function spreadByOcclusion(ratios: ReadonlyMap<number, number>, n: number): number[] {
  const sorted = [...ratios].sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id]) => id);
  if (sorted.length <= n) return sorted;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(sorted[Math.round((i * (sorted.length - 1)) / Math.max(1, n - 1))]!);
  return [...new Set(out)];
}

export async function testExperiment(cfg: LoadedConfig, ckpt: string | null, opts: TestExperimentOptions): Promise<TestExperimentResult> {
  if ((ckpt === null) === (opts.weights === undefined)) throw new Error('test: give either a tiedet checkpoint or weights (--weights), not both');
  const log = opts.log ?? (() => {});
  const data = cfg.data;
  const valSet = await loadDataset(data.data, 'val', 'test');
  if (valSet.skipped.total > 0) log(`data: val: skipped ${valSet.skipped.total} bad record(s) (data.onBad 'skip'): ${JSON.stringify(valSet.skipped.byReason)}`);
  const model = buildModel(cfg, valSet.numClasses, valSet.annFile);
  const loader = new DataLoader(valSet, loaderOptions(data.data, 'test', data.train.seed, data.test.batchSize));
  try {
    if (model.numClasses !== valSet.numClasses) {
      throw new Error(
        `${cfg.file}: the model factory builds ${model.numClasses} classes but ${valSet.annFile} has ${valSet.numClasses} categories; ` +
          'build the detector with the numClasses its factory receives (ctx.numClasses)',
      );
    }
    let path: string;
    if (ckpt !== null) {
      const desc = describeModel(model);
      path = checkTestCheckpoint(ckpt, cfg, trainingHash(data, desc), desc.modelHash, opts.allowConfigChange ?? false, log);
      const state = loadCheckpointWeights(model, path);
      log(`checkpoint: ${path} (iteration ${state.iteration}, epoch ${state.epoch})`);
    } else {
      path = opts.weights!;
      const report = loadWeightsInto(model, path, { strict: opts.strictWeights ?? true });
      for (const line of formatWeightsReport(report).split('\n')) log(`weights: ${line}`);
    }

    const t0 = performance.now();
    const dets = await predictDataset(model, loader, opts.onProgress);
    const inferenceSeconds = (performance.now() - t0) / 1000;
    const results = cocoResults(valSet, dets);
    const resultsFile = resolve(opts.out);
    mkdirSync(dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, JSON.stringify(results));
    log(`results: ${results.length} detections on ${dets.length} images → ${resultsFile} (${inferenceSeconds.toFixed(1)} s)`);
    if (loader.skipped.total > 0) log(`data: ${loader.skipped.total} image(s) skipped while loading (data.onBad 'skip'): ${JSON.stringify(loader.skipped.byReason)}`);

    const evaluation = opts.eval?.length ? evaluateResults(valSet.coco, results, opts.eval, (m) => log(`eval: warning: ${m}`)) : null;

    let occlusion: TestExperimentResult['occlusion'] = null;
    if (opts.occlusionReport) {
      const iouType: IouType = opts.eval?.includes('segm') ? 'segm' : 'bbox';
      const report = buildOcclusionReport({
        gt: valSet.coco,
        results: [{ name: cfg.name, file: resultsFile }],
        iouType,
        bootstrap: opts.bootstrap,
        onProgress: (m) => log(`occlusion report: ${m}`),
        onWarning: (m) => log(`occlusion report: warning: ${m}`),
      });
      occlusion = { report, files: writeOcclusionReport(report, opts.occlusionReport) };
    }

    let render: RenderSummary | null = null;
    if (opts.render) {
      const { renderResults } = await import('../render/render.js'); // sharp and Skia load only when asked
      const imgIds = spreadByOcclusion(imageOcclusionRatios(valSet.coco), opts.renderCount ?? 16);
      render = await renderResults({
        images: data.data.val.imageDir,
        results: resultsFile,
        gt: data.data.val.annFile,
        out: opts.render,
        imgIds,
        sideBySide: true,
        scoreThr: opts.renderScoreThr ?? DEFAULT_SCORE_THR,
        log: (line) => log(line),
      });
    }
    return { checkpoint: path, resultsFile, images: dets.length, detections: results.length, evaluation, occlusion, render, inferenceSeconds };
  } finally {
    model.dispose();
    await loader.close();
  }
}
