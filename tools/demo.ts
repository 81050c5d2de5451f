/**
 * `npm run demo` — the product's main job on this machine, offline, in under ten minutes: train a TiedResNet
 * Mask R-CNN on the synthetic occlusion set, test it, evaluate it (boxes and masks), analyse it by occlusion and
 * look at its masks.
 *
 *   1. generate the tiny synthetic set (320 train + 80 val images, 128×128, circles / squares / triangles with
 *      controlled occlusion) into work_dirs/synthetic-tiny, unless it is already there;
 *   2. train configs/mask-rcnn_tiedresnet_synthetic_tiny.ts (tools/runner/run-train.ts — the same code as
 *      `tiedet train`) into work_dirs/demo/train, with a progress bar, log.jsonl, checkpoints and evaluation;
 *   3. test the final checkpoint on the val split (the same code as `tiedet test`): COCO results JSON with RLE
 *      masks, pycocotools' summaries (bbox and segm), the occlusion report on mask AP (work_dirs/demo/occlusion)
 *      and 16 rendered predictions (masks, boxes) next to the ground truth with a gallery (work_dirs/demo/render);
 *   4. print AP / AP50 / AP75 next to those of the same detector untrained (what chance gives on these images),
 *      wall-clock and CPU time, and where everything is; write work_dirs/demo/demo.json.
 *
 * Options: `--config NAME` (another config, e.g. retinanet_tiedresnet_synthetic_tiny for boxes only),
 * `--cfg-options a.b=c …`.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadConfig, resolveNumClasses } from '../configs/load.js';
import { SYNTHETIC_TINY_ROOT } from '../configs/retinanet_tiedresnet_synthetic_tiny.js';
import { generateSynthetic } from '../data/synthetic/index.js';
import { initEngine } from '../src/engine/index.js';
import { formatDuration } from '../src/train/progress.js';
import { trainExperiment } from './runner/run-train.js';
import { testExperiment } from './runner/run-test.js';
import { loaderOptions, loadDataset } from './runner/data.js';
import { DataLoader } from '../data/loader.js';
import { cocoResults, evaluateResults, predictDataset } from './runner/inference.js';

const DEMO_DIR = 'work_dirs/demo';
const DEFAULT_CONFIG = 'mask-rcnn_tiedresnet_synthetic_tiny';

function argList(name: string): string[] {
  const out: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) {
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out.push(argv[++i]!);
    }
  }
  return out;
}

const say = (s: string): void => void process.stdout.write(`${s}\n`);
const note = (s: string): void => void process.stderr.write(`${s}\n`);
const rel = (p: string): string => relative(process.cwd(), p) || '.';

/** CPU seconds (user + system) of this process so far. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const phases: Record<string, { seconds: number; cpuSeconds: number }> = {};
  let mark = { t: t0, cpu: cpu0 };
  const phase = (name: string): void => {
    const now = { t: performance.now(), cpu: cpuSeconds() };
    phases[name] = { seconds: (now.t - mark.t) / 1000, cpuSeconds: now.cpu - mark.cpu };
    mark = now;
  };

  const engine = await initEngine();
  say(`tiedet demo — backend ${engine.backend}${engine.backend === 'wasm' ? `, ${engine.threads} thread(s)` : ''}`);

  // 1. data
  const root = resolve(SYNTHETIC_TINY_ROOT);
  if (existsSync(join(root, 'README.md')) && existsSync(join(root, 'annotations', 'instances_val.json'))) {
    say(`\n[1/4] synthetic set: using ${rel(root)}`);
  } else {
    say(`\n[1/4] generating the tiny synthetic occlusion set into ${rel(root)} …`);
    const g = await generateSynthetic({ preset: 'tiny', out: root, overwrite: true });
    say(`      ${g.stats.train.images} train + ${g.stats.val.images} val images, ${g.stats.train.annotations + g.stats.val.annotations} objects, in ${g.seconds.toFixed(1)} s`);
  }
  phase('data');

  // 2. train
  const configName = argList('config')[0] ?? DEFAULT_CONFIG;
  const cfg = await loadConfig(configName, { cfgOptions: argList('cfg-options') });
  const demoDir = resolve(DEMO_DIR);
  rmSync(demoDir, { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true });
  const workDir = join(demoDir, 'train');
  say(`\n[2/4] training ${cfg.name} (${rel(cfg.file)}) → ${rel(workDir)}`);
  const tr = await trainExperiment(cfg, { workDir, log: (l) => note(`      ${l}`) });
  if (tr.status !== 'completed') {
    say(`training ${tr.status} at iteration ${tr.iteration}; checkpoint ${tr.checkpoint}`);
    process.exitCode = 130;
    return;
  }
  phase('train');
  say(`      ${tr.iteration} iterations in ${formatDuration(phases.train!.seconds)} (${(tr.iteration / phases.train!.seconds).toFixed(2)} it/s)`);

  // 3. test, evaluate, occlusion report, render
  say(`\n[3/4] testing the final checkpoint on the ${cfg.data.data.val.annFile} images …`);
  const metrics = cfg.data.train.evalMetrics; // ['bbox', 'segm'] for Mask R-CNN, ['bbox'] for RetinaNet
  const results = join(demoDir, 'results.json');
  const te = await testExperiment(cfg, tr.checkpoint!, {
    out: results,
    eval: metrics,
    occlusionReport: join(demoDir, 'occlusion'),
    render: join(demoDir, 'render'),
    renderCount: 16,
    log: (l) => note(`      ${l}`),
  });
  phase('test');
  const evaluation = te.evaluation!;
  // what chance looks like: the same detector untrained (its initialisation) on the same images, keeping its top
  // 100 boxes per image whatever their score (with the 0.05 threshold it would keep none)
  const valSet = await loadDataset(cfg.data.data, 'val', 'test');
  const untrained = cfg.model({ seed: cfg.data.train.seed, test: { ...cfg.data.test, scoreThr: 0 }, numClasses: resolveNumClasses(cfg, valSet.numClasses, valSet.annFile) });
  let chance: Partial<Record<'bbox' | 'segm', number[]>>;
  try {
    const loader = new DataLoader(valSet, loaderOptions(cfg.data.data, 'test', cfg.data.train.seed, cfg.data.test.batchSize));
    const dets = await predictDataset(untrained, loader);
    chance = evaluateResults(valSet.coco, cocoResults(valSet, dets), metrics).stats;
  } finally {
    untrained.dispose();
  }
  phase('chance');
  for (const m of metrics) {
    say(`\n${m} evaluation (pycocotools' numbers, ${te.images} val images, ${te.detections} detections):`);
    say(evaluation.summaries[m]!.join('\n'));
  }

  // 4. summary
  const occ = te.occlusion!.report;
  const binLine = occ.bins
    .map((b) => `${b.label} ${b.models[0]?.stats ? (100 * b.models[0].stats.AP).toFixed(1) : '–'}`)
    .join(' · ');
  const total = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  say(`\n[4/4] done in ${formatDuration(total)} wall clock (${formatDuration(cpu)} CPU in this process)`);
  const pts = (v: number): string => (100 * v).toFixed(1);
  for (const m of metrics) {
    const st = evaluation.stats[m]!;
    const ch = chance[m]!;
    say(`      ${m.padEnd(4)}  AP ${pts(st[0]!)}   AP50 ${pts(st[1]!)}   AP75 ${pts(st[2]!)}   (the untrained detector, i.e. chance: AP ${pts(ch[0]!)}, AP50 ${pts(ch[1]!)})`);
  }
  say(`      ${occ.iouType} AP by occlusion bin: ${binLine}`);
  say('');
  say(`  training log        ${rel(tr.logFile)}   (npx tiedet analyze-logs ${rel(tr.logFile)} --keys loss,bbox_mAP --out curves.svg)`);
  say(`  checkpoint          ${rel(tr.checkpoint!)}`);
  say(`  resolved config     ${rel(tr.configFile)}`);
  say(`  COCO results        ${rel(te.resultsFile)}`);
  say(`  occlusion report    ${rel(te.occlusion!.files.html)}`);
  say(`  rendered images     ${rel(te.render!.gallery)}`);
  const summary = {
    config: cfg.name,
    backend: engine.backend,
    threads: engine.threads,
    iterations: tr.iteration,
    images: te.images,
    detections: te.detections,
    ...Object.fromEntries(
      metrics.map((m) => [m, Object.fromEntries(['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'].map((k, i) => [k, evaluation.stats[m]![i]]))]),
    ),
    untrained: Object.fromEntries(metrics.map((m) => [m, Object.fromEntries(['AP', 'AP50', 'AP75'].map((k, i) => [k, chance[m]![i]]))])),
    occlusionBinsAP: occ.bins.map((b) => ({ bin: b.label, images: b.images, AP: b.models[0]?.stats?.AP ?? null })),
    seconds: total,
    cpuSeconds: cpu,
    phases,
    files: {
      log: tr.logFile,
      checkpoint: tr.checkpoint,
      config: tr.configFile,
      results: te.resultsFile,
      occlusionReport: te.occlusion!.files.html,
      gallery: te.render!.gallery,
    },
  };
  const summaryFile = join(demoDir, 'demo.json');
  writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  say(`  summary             ${rel(summaryFile)}`);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`tiedet demo: ${(e as Error).message?.split('\n')[0] ?? String(e)}\n`);
  if (process.env.TIEDET_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
  process.exitCode = 1;
}
process.exit(process.exitCode ?? 0);
