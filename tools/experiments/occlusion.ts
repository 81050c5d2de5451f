/**
 * `npm run experiment:occlusion [-- --quick] [--out DIR] [--doc FILE] [--seeds 0,1,2]` — issue 20's experiment:
 * the paper's occlusion analysis (PAPER.md Fig. 7) and filter similarity (Fig. 1 / 9) at toy scale.
 *
 * The same RetinaNet is trained on three backbones (ResNet, TiedResNet, TiedResNet-S; configs/occlusion-
 * experiment_synthetic_small.ts) with the same schedule and the same data order for each seed, on the synthetic
 * `small` set (generated when absent). Each model is tested on the val split; then:
 * - per seed, the multi-model occlusion report (eval/occlusion-report.ts: bins, levels, paired bootstrap gaps to
 *   ResNet) in `<out>/occlusion/seed<k>/`; with several seeds, a pooled report in `<out>/occlusion/pooled/` whose
 *   "images" are (seed, image) pairs — each seed's detections on its own copy of the val set — so the bootstrap
 *   resamples over seeds and images together;
 * - the filter analysis (src/analysis/, eval/filter-report.ts) of the trained backbones on val images in
 *   `<out>/filters/`;
 * - parameters, backbone MACs at the training scale and wall time per model, and the summary `<doc>`
 *   (default docs/experiments/occlusion.md, which says whether it was the quick run).
 *
 * Resumable: a model whose `<out>/<backbone>-seed<k>/done.json` exists is not trained or tested again; a model
 * whose training was interrupted resumes from its latest checkpoint. Deterministic for a seed (the training
 * loop's seeded RNGs and data order).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  BACKBONE_LABELS,
  FULL,
  OCCLUSION_BACKBONES,
  QUICK,
  occlusionBackbone,
  occlusionExperimentConfig,
  type OcclusionBackbone,
  type OcclusionScale,
} from '../../configs/occlusion-experiment_synthetic_small.js';
import { describeModel, type LoadedConfig } from '../../configs/load.js';
import { validateConfigData } from '../../configs/_validate.js';
import { generateSynthetic, MANIFEST_FILE } from '../../data/synthetic/index.js';
import { complexity } from '../../src/backbones/complexity.js';
import type { Backbone } from '../../src/backbones/backbone.js';
import type { Module } from '../../src/nn/module.js';
import type { CountsMacs } from '../../src/backbones/complexity.js';
import { initEngine } from '../../src/engine/index.js';
import { findLatest } from '../../src/train/checkpoint-state.js';
import { buildOcclusionReport, writeOcclusionReport, type OcclusionReport } from '../../eval/occlusion-report.js';
import { trainExperiment } from '../runner/run-train.js';
import { testExperiment } from '../runner/run-test.js';
import { runFilterPhase, type FilterPhaseResult } from './occlusion-filters.js';
import { writeOcclusionDoc, type ModelRun } from './occlusion-doc.js';

const CONFIG_FILE = resolve('configs/occlusion-experiment_synthetic_small.ts');

interface Args {
  quick: boolean;
  out: string;
  doc: string;
  seeds: number[] | null;
  skipFilters: boolean;
}

function fail(msg: string): never {
  process.stderr.write(`experiment:occlusion: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, out: '', doc: '', seeds: null, skipFilters: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) fail(`${k}: expected a value`);
      return v;
    };
    if (k === '--quick') a.quick = true;
    else if (k === '--out') a.out = val();
    else if (k === '--doc') a.doc = val();
    else if (k === '--skip-filters') a.skipFilters = true;
    else if (k === '--seeds') {
      const v = val();
      const seeds = v.split(',').map((s) => Number(s));
      if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) fail(`--seeds: expected comma-separated non-negative integers, got '${v}'`);
      a.seeds = seeds;
    } else fail(`unknown option '${k}' (options: --quick, --out DIR, --doc FILE, --seeds 0,1,2, --skip-filters)`);
  }
  a.out ||= a.quick ? 'work_dirs/experiments/occlusion-quick' : 'work_dirs/experiments/occlusion';
  a.doc ||= 'docs/experiments/occlusion.md';
  return a;
}

const say = (s: string): void => void process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

function loaded(kind: OcclusionBackbone, scale: OcclusionScale, seed: number): LoadedConfig {
  const { model, ...rest } = occlusionExperimentConfig(kind, scale);
  const data = structuredClone(rest);
  data.train.seed = seed;
  validateConfigData(data, CONFIG_FILE);
  return { name: `occlusion-${kind}`, file: CONFIG_FILE, model, data, cfgOptions: [], notes: [] };
}

async function ensureDataset(scale: OcclusionScale): Promise<void> {
  if (existsSync(join(scale.root, MANIFEST_FILE))) return;
  say(`data: generating the synthetic small set (${scale.images} images, ${scale.size} px) in ${scale.root}`);
  const r = await generateSynthetic({ preset: 'small', images: scale.images, size: scale.size, seed: 0, out: scale.root });
  say(`data: done in ${r.seconds.toFixed(0)} s`);
}

/** Trains and tests one model unless its done.json exists; returns the record. */
async function runModel(kind: OcclusionBackbone, seed: number, scale: OcclusionScale, out: string): Promise<ModelRun> {
  const workDir = resolve(out, `${kind}-seed${seed}`);
  const doneFile = join(workDir, 'done.json');
  if (existsSync(doneFile)) {
    say(`${kind} seed ${seed}: done already (${relative(process.cwd(), doneFile)})`);
    return JSON.parse(readFileSync(doneFile, 'utf8')) as ModelRun;
  }
  const cfg = loaded(kind, scale, seed);
  const resume = findLatest(workDir) !== null;
  say(`${kind} seed ${seed}: training${resume ? ' (resuming)' : ''} → ${relative(process.cwd(), workDir)}`);
  const tr = await trainExperiment(cfg, { workDir, resume, progress: false, handleSigint: true, log: (l) => say(`  ${l}`) });
  if (tr.status !== 'completed') fail(`${kind} seed ${seed}: training ${tr.status}; run again to resume`);
  const ckpt = findLatest(workDir);
  if (!ckpt) fail(`${workDir}: no checkpoint after training`);
  const resultsFile = join(workDir, 'results.bbox.json');
  const te = await testExperiment(cfg, ckpt, { out: resultsFile, eval: ['bbox'], log: (l) => say(`  ${l}`) });
  const probe = cfg.model({ seed, test: { ...cfg.data.test }, numClasses: 8 }); // the small set's 8 classes
  const desc = describeModel(probe);
  probe.dispose();
  const bb = occlusionBackbone(kind, seed) as Backbone & Module & CountsMacs;
  const cx = complexity(bb, [scale.scale, scale.scale]);
  bb.dispose();
  const run: ModelRun = {
    backbone: kind,
    label: BACKBONE_LABELS[kind],
    seed,
    workDir,
    checkpoint: ckpt,
    resultsFile,
    metrics: te.evaluation?.metrics ?? {},
    detectorParams: desc.parameters,
    backboneParams: cx.params,
    backboneMacs: cx.macs,
    macsInput: [scale.scale, scale.scale],
    trainSeconds: tr.seconds,
    iterations: tr.totalIters,
    inferenceSeconds: te.inferenceSeconds,
    valImages: te.images,
  };
  writeFileSync(doneFile, `${JSON.stringify(run, null, 1)}\n`);
  say(`${kind} seed ${seed}: bbox mAP ${(run.metrics.bbox_mAP ?? NaN).toFixed(3)}, ${tr.seconds.toFixed(0)} s training`);
  return run;
}

/** GT and results of every seed on its own copy of the val set (image ids offset per seed): the pooled report. */
function pooledInputs(valAnn: string, runs: ModelRun[], seeds: readonly number[], dir: string): { gt: string; results: { name: string; file: string }[] } {
  const gt = JSON.parse(readFileSync(valAnn, 'utf8')) as { images: { id: number }[]; annotations: { id: number; image_id: number }[] } & Record<string, unknown>;
  const offset = Math.max(...gt.images.map((i) => i.id)) + 1;
  const annOffset = Math.max(0, ...gt.annotations.map((a) => a.id)) + 1;
  const pooled = {
    ...gt,
    images: seeds.flatMap((_, k) => gt.images.map((im) => ({ ...im, id: im.id + k * offset }))),
    annotations: seeds.flatMap((_, k) => gt.annotations.map((a) => ({ ...a, id: a.id + k * annOffset, image_id: a.image_id + k * offset }))),
  };
  mkdirSync(dir, { recursive: true });
  const gtFile = join(dir, 'gt-pooled.json');
  writeFileSync(gtFile, JSON.stringify(pooled));
  const results = OCCLUSION_BACKBONES.map((kind) => {
    const dets = seeds.flatMap((seed, k) => {
      const run = runs.find((r) => r.backbone === kind && r.seed === seed)!;
      return (JSON.parse(readFileSync(run.resultsFile, 'utf8')) as { image_id: number }[]).map((d) => ({ ...d, image_id: d.image_id + k * offset }));
    });
    const file = join(dir, `results-${kind}.json`);
    writeFileSync(file, JSON.stringify(dets));
    return { name: BACKBONE_LABELS[kind], file };
  });
  return { gt: gtFile, results };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const scale = args.quick ? QUICK : FULL;
  const seeds = args.seeds ?? [...scale.seeds];
  const t0 = performance.now();
  const engine = await initEngine();
  say(`experiment:occlusion ${args.quick ? 'quick' : 'full'}: backbones ${OCCLUSION_BACKBONES.join(', ')}, seeds ${seeds.join(', ')}; backend ${engine.backend}; out ${args.out}`);
  await ensureDataset(scale);
  const out = resolve(args.out);
  mkdirSync(out, { recursive: true });

  const runs: ModelRun[] = [];
  for (const seed of seeds) for (const kind of OCCLUSION_BACKBONES) runs.push(await runModel(kind, seed, scale, out));

  const valAnn = join(scale.root, 'annotations/instances_val.json');
  const reports: { name: string; report: OcclusionReport; html: string }[] = [];
  for (const seed of seeds) {
    const dir = join(out, 'occlusion', `seed${seed}`);
    const report = buildOcclusionReport({
      gt: valAnn,
      results: OCCLUSION_BACKBONES.map((kind) => ({ name: BACKBONE_LABELS[kind], file: runs.find((r) => r.backbone === kind && r.seed === seed)!.resultsFile })),
      iouType: 'bbox',
      bootstrap: 200,
      seed,
    });
    reports.push({ name: `seed ${seed}`, report, html: writeOcclusionReport(report, dir).html });
    say(`occlusion report (seed ${seed}): ${relative(process.cwd(), dir)}`);
  }
  if (seeds.length > 1) {
    const dir = join(out, 'occlusion', 'pooled');
    const inputs = pooledInputs(valAnn, runs, seeds, join(dir, 'inputs'));
    const report = buildOcclusionReport({ gt: inputs.gt, results: inputs.results, iouType: 'bbox', bootstrap: 200, seed: 0 });
    reports.unshift({ name: 'pooled', report, html: writeOcclusionReport(report, dir).html });
    say(`occlusion report (seeds pooled): ${relative(process.cwd(), dir)}`);
  }

  let filters: FilterPhaseResult | null = null;
  if (!args.skipFilters) {
    filters = await runFilterPhase({
      runs: runs.filter((r) => r.seed === seeds[0]),
      configOf: (kind) => loaded(kind, scale, seeds[0]!),
      images: join(scale.root, 'val'),
      out: join(out, 'filters'),
      quick: args.quick,
      log: say,
    });
  }
  const doc = writeOcclusionDoc({
    file: resolve(args.doc),
    quick: args.quick,
    scale,
    seeds,
    runs,
    reports,
    filters,
    wallSeconds: (performance.now() - t0) / 1000,
    backend: engine.backend,
  });
  say(`summary: ${relative(process.cwd(), doc)} (${((performance.now() - t0) / 60000).toFixed(1)} min this session)`);
}

await main();
process.exit(0);
