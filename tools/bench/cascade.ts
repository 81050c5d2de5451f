/**
 * `npm run bench:cascade` — Cascade Mask R-CNN against Mask R-CNN on this machine, in the same run, at COCO scale
 * (one 800×1333 image padded to 800×1344), mmdetection's test configs, random weights:
 *
 *   inference, split by stage: backbone + FPN | RPN (head + proposals: 1000) | cascade box stage 0, 1, 2 (RoIAlign
 *   7×7 + Shared2FC head on the 1000 RoIs, then the refinement to the next stage's RoIs) | box post-processing
 *   (stage-averaged softmax, decode, NMS) | masks (100 detections through the 3 mask heads, sigmoid, averaged,
 *   pasted, RLE); Mask R-CNN's RoI box head and mask + paste timed alike. The two detectors run alternately, run by
 *   run, on the same image. Ratios cascade / Mask R-CNN: of the two sums, and with backbone + FPN + RPN (the same
 *   network in both) pooled over both detectors' runs — box only (= Cascade R-CNN / Faster R-CNN; mmdetection's model
 *   zoo: 1.33× for R-50) and with masks (issue 18's target: ≤ 1.4×; mmdetection's model zoo: 1.44× for R-50);
 *   training step (batch 1, --train-input, default 1333×800, backbone activation checkpointing): loss forward and
 *   forward + backward + SGD of Cascade Mask R-CNN, with the loss split by stage (values, not time).
 *
 * Random weights give no detection above score_thr 0.05, so the mask stage of both detectors is timed on the 100 best
 * proposals with random labels (as tools/bench/mask-rcnn.ts). Medians of `--repeats` runs after one warm-up.
 *
 * Options: --presets resnet50,tiedResNet50 --input 800x1333 --repeats 3 --train-input HxW (default 800x1333)
 * --train-repeats 2 --train-presets resnet50,tiedResNet50 --no-train --out work_dirs/bench/cascade.json. The machine
 * load (os.loadavg) is recorded: compare timings only within one run.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import { CascadeRCNN } from '../../detectors/cascade-rcnn/cascade-rcnn.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import type { MaskRcnnTargets } from '../../detectors/mask-rcnn/targets.js';
import { regressByClass, foregroundArgmax } from '../../detectors/cascade-rcnn/refine-rois.js';
import { resnet50, tiedResNet50 } from '../../src/backbones/presets.js';
import type { ResNet } from '../../src/backbones/resnet.js';
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { argValue, repoRoot, table, time, writeJson, type Timing } from './harness.js';
import { median } from './reference.js';
import { fakeDetections, image, metaFor, parseInput } from './two-stage-inputs.js';

// zero-init residuals keep the random network's activations finite (see tools/bench/mask-rcnn.ts)
const PRESETS: Record<string, (withCp?: boolean) => ResNet> = {
  resnet50: (withCp = false) => resnet50({ numClasses: null, seed: 1, zeroInitResidual: true, withCp }),
  tiedResNet50: (withCp = false) => tiedResNet50({ numClasses: null, seed: 1, zeroInitResidual: true, withCp }),
};

interface Row {
  preset: string;
  features: Timing;
  rpn: Timing;
  /** Mask R-CNN: [RoI box head + post-processing]; cascade: stage 0, 1, 2 (head + refinement), then post-processing. */
  boxStages: Timing[];
  /** The whole box path (Mask R-CNN: = boxStages[0]; cascade: the stages + post-processing, as `predictBoxes`). */
  box: Timing;
  masks: Timing;
  sumMs: number;
}

/** One timed inference, stage by stage, in ms. */
interface Run {
  features: number;
  rpn: number;
  /** Cascade only: each stage's head + refinement (a breakdown of `box`). */
  stages: number[];
  box: number;
  masks: number;
}

function timing(runsMs: number[]): Timing {
  return { medianMs: median(runsMs), minMs: Math.min(...runsMs), runsMs };
}

/** The features and proposals of one image, timed; the caller disposes `levels`. */
async function frontEnd(model: MaskRCNN | CascadeRCNN, x: tf.Tensor4D, meta: ImageMeta): Promise<{ levels: tf.Tensor4D[]; proposals: Float32Array[]; features: number; rpn: number }> {
  const t0 = performance.now();
  const levels = model.features(x);
  levels[0]!.dataSync();
  const t1 = performance.now();
  const out = model.rpnHead.forward(levels);
  const proposals = model.proposals(out, [meta], model.config.test.rpn).map((p) => p.boxes);
  tf.dispose([...out.cls, ...out.reg]);
  return { levels, proposals, features: t1 - t0, rpn: performance.now() - t1 };
}

function elapsed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function maskRcnnRun(model: MaskRCNN, x: tf.Tensor4D, meta: ImageMeta): Promise<Run> {
  const { levels, proposals, features, rpn } = await frontEnd(model, x, meta);
  try {
    const cfg = model.config.test.rcnn;
    const box = elapsed(() => void model.roiHead.predictBoxes(levels, proposals, [meta], cfg));
    const dets = [fakeDetections(proposals[0]!, model.numClasses, new Rng(3))];
    const masks = elapsed(() => void model.roiHead.predictMasks(levels, dets, [meta], cfg.maskThr));
    return { features, rpn, stages: [], box, masks };
  } finally {
    tf.dispose(levels);
  }
}

async function cascadeRun(model: CascadeRCNN, x: tf.Tensor4D, meta: ImageMeta): Promise<Run> {
  const { levels, proposals, features, rpn } = await frontEnd(model, x, meta);
  const head = model.roiHead;
  try {
    // the breakdown: stage by stage, the head on the current RoIs then the refinement (as CascadeRoIHead.predictBoxes)
    const stages: number[] = [];
    let rois = proposals[0]!;
    const batch = new Int32Array(rois.length / 4);
    for (let i = 0; i < head.numStages; i++) {
      stages.push(
        elapsed(() => {
          const out = tf.tidy(() => {
            const o = head.bboxHeads[i]!.forward(head.bboxRoiFeatures(levels, rois, batch));
            return [o.cls, o.reg];
          });
          const logits = out[0]!.dataSync() as Float32Array;
          const deltas = out[1]!.dataSync() as Float32Array;
          tf.dispose(out);
          if (i < head.numStages - 1) rois = regressByClass(rois, foregroundArgmax(logits, model.numClasses), deltas, model.numClasses, meta, head.stageCoder(i));
        }),
      );
    }
    const cfg = model.config.test.rcnn;
    const box = elapsed(() => void head.predictBoxes(levels, proposals, [meta], cfg));
    const dets = [fakeDetections(proposals[0]!, model.numClasses, new Rng(3))];
    const masks = elapsed(() => void head.predictMasks(levels, dets, [meta], cfg.maskThr));
    return { features, rpn, stages, box, masks };
  } finally {
    tf.dispose(levels);
  }
}

function row(preset: string, runs: Run[]): Row {
  const of = (f: (r: Run) => number) => timing(runs.map(f));
  const features = of((r) => r.features);
  const rpn = of((r) => r.rpn);
  const box = of((r) => r.box);
  const masks = of((r) => r.masks);
  const nStages = runs[0]!.stages.length;
  let boxStages: Timing[] = [box];
  if (nStages > 0) {
    boxStages = Array.from({ length: nStages }, (_, i) => of((r) => r.stages[i]!));
    // post-processing = the whole box path minus its stages (clamped at 0 against noise)
    const postMs = Math.max(0, box.medianMs - boxStages.reduce((s, t) => s + t.medianMs, 0));
    boxStages.push({ medianMs: postMs, minMs: postMs, runsMs: [postMs] });
  }
  return { preset, features, rpn, boxStages, box, masks, sumMs: features.medianMs + rpn.medianMs + box.medianMs + masks.medianMs };
}

/** Cascade / Mask R-CNN ratios; `pooled`: backbone + FPN + RPN (the same network in both) from all runs of both. */
interface Ratios {
  sharedMs: number;
  /** Cascade R-CNN / Faster R-CNN: the sums without the mask stage. */
  boxOnly: number;
  withMasks: number;
  /** The ratio of the two detectors' own sums (each with its own backbone timings). */
  ofSums: number;
}

function ratios(mask: Row, cascade: Row): Ratios {
  const shared = median([...mask.features.runsMs.map((f, i) => f + mask.rpn.runsMs[i]!), ...cascade.features.runsMs.map((f, i) => f + cascade.rpn.runsMs[i]!)]);
  return {
    sharedMs: shared,
    boxOnly: (shared + cascade.box.medianMs) / (shared + mask.box.medianMs),
    withMasks: (shared + cascade.box.medianMs + cascade.masks.medianMs) / (shared + mask.box.medianMs + mask.masks.medianMs),
    ofSums: cascade.sumMs / mask.sumMs,
  };
}

/** Both detectors on one preset, alternating run by run (Mask R-CNN, then Cascade), after one warm-up each. */
async function inferencePair(preset: string, meta: ImageMeta, repeats: number): Promise<{ mask: Row; cascade: Row; ratios: Ratios }> {
  const mrcnn = new MaskRCNN({ backbone: PRESETS[preset]!(), seed: 1 });
  const cascade = new CascadeRCNN({ backbone: PRESETS[preset]!(), seed: 1 });
  mrcnn.eval();
  cascade.eval();
  const x = image(meta, 1);
  try {
    await maskRcnnRun(mrcnn, x, meta);
    await cascadeRun(cascade, x, meta);
    const m: Run[] = [];
    const c: Run[] = [];
    for (let r = 0; r < repeats; r++) {
      m.push(await maskRcnnRun(mrcnn, x, meta));
      c.push(await cascadeRun(cascade, x, meta));
      const sum = (v: Run) => ((v.features + v.rpn + v.box + v.masks) / 1000).toFixed(2);
      process.stderr.write(`    run ${r + 1}/${repeats}: Mask R-CNN ${sum(m[r]!)} s, Cascade ${sum(c[r]!)} s\n`);
    }
    const mask = row(preset, m);
    const casc = row(preset, c);
    return { mask, cascade: casc, ratios: ratios(mask, casc) };
  } finally {
    x.dispose();
    mrcnn.dispose();
    cascade.dispose();
  }
}

function targetsFor(meta: ImageMeta): MaskRcnnTargets {
  const { width: W, height: H } = meta.padSize;
  const s = meta.resizedSize.height / 800;
  const boxes = [
    [100, 120, 400, 500],
    [600, 200, 900, 420],
    [1000, 450, 1250, 760],
    [300, 550, 520, 700],
  ].map((b) => b.map((v) => Math.min(Math.round(v * s), v === b[0] || v === b[2] ? meta.resizedSize.width - 1 : meta.resizedSize.height - 1)));
  const masks = new Uint8Array(boxes.length * H * W);
  boxes.forEach(([x1, y1, x2, y2], g) => {
    for (let y = y1!; y < y2!; y++) masks.fill(1, g * H * W + y * W + x1!, g * H * W + y * W + x2!);
  });
  return { boxes: Float32Array.from(boxes.flat()), labels: Int32Array.from([0, 5, 17, 56]), masks };
}

interface TrainRow {
  preset: string;
  input: [number, number];
  lossForward: Timing;
  step: Timing;
  losses: Record<string, number>;
}

async function trainStep(preset: string, meta: ImageMeta, repeats: number): Promise<TrainRow> {
  const model = new CascadeRCNN({ backbone: PRESETS[preset]!(true), seed: 1 });
  model.train();
  const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
  const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
  const x = image(meta, 2);
  const batch = { images: x, metas: [meta], targets: [targetsFor(meta)] };
  let losses: Record<string, number> = {};
  try {
    const lossForward = await time(() => {
      tf.tidy(() => {
        const l = model.loss(batch);
        l['s2.loss_mask']!.dataSync();
      });
    }, repeats, `${preset} loss forward`);
    const step = await time(() => {
      const { value, grads } = tf.variableGrads(() => {
        const l = model.loss(batch);
        losses = Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.dataSync()[0]!]));
        return tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
      }, model.trainableVariables());
      sgd.step(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
      tf.dispose([value, ...Object.values(grads)]);
    }, repeats, `${preset} training step`);
    return { preset, input: [meta.resizedSize.height, meta.resizedSize.width], lossForward, step, losses };
  } finally {
    x.dispose();
    sgd.dispose();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const info = await initEngine();
  const [h, w] = parseInput(argValue('input') ?? '800x1333');
  const repeats = Number(argValue('repeats') ?? 3);
  const trainRepeats = Number(argValue('train-repeats') ?? 2);
  const presets = (argValue('presets') ?? 'resnet50,tiedResNet50').split(',').filter((p) => p !== '');
  const trainPresets = (argValue('train-presets') ?? 'resnet50,tiedResNet50').split(',').filter((p) => p !== '');
  for (const p of [...presets, ...trainPresets]) {
    if (!PRESETS[p]) throw new Error(`--presets / --train-presets: unknown preset "${p}" (known: ${Object.keys(PRESETS).join(', ')})`);
  }
  const meta = metaFor(h, w);
  const loadBefore = loadavg();
  process.stderr.write(`cascade bench: ${info.backend} × ${info.threads} threads, input ${h}×${w}, load ${loadBefore.map((l) => l.toFixed(1)).join(' ')}\n`);
  const rows: { mask: Row; cascade: Row; ratios: Ratios }[] = [];
  for (const p of presets) {
    process.stderr.write(`  inference ${p}: Mask R-CNN and Cascade Mask R-CNN, alternating\n`);
    rows.push(await inferencePair(p, meta, repeats));
  }
  const trains: TrainRow[] = [];
  if (!process.argv.includes('--no-train')) {
    const [th, tw] = parseInput(argValue('train-input') ?? '800x1333');
    for (const p of trainPresets) {
      process.stderr.write(`  training step ${p} at ${th}×${tw} (withCp)\n`);
      trains.push(await trainStep(p, metaFor(th, tw), trainRepeats));
    }
  }
  const loadAfter = loadavg();
  const s = (t: Timing) => (t.medianMs / 1000).toFixed(3);
  console.log(
    table(
      ['preset', 'detector', 'backbone+FPN s', 'RPN s', 'box stages s', 'box post s', 'masks s', 'sum s', 'ratio of sums'],
      rows.flatMap(({ mask, cascade, ratios: q }) => [
        [mask.preset, 'Mask R-CNN', s(mask.features), s(mask.rpn), s(mask.boxStages[0]!), '(in box)', s(mask.masks), (mask.sumMs / 1000).toFixed(3), ''],
        [
          cascade.preset,
          'Cascade Mask R-CNN',
          s(cascade.features),
          s(cascade.rpn),
          cascade.boxStages.slice(0, -1).map(s).join(' / '),
          s(cascade.boxStages.at(-1)!),
          s(cascade.masks),
          (cascade.sumMs / 1000).toFixed(3),
          `${q.ofSums.toFixed(2)}×`,
        ],
      ]),
    ),
  );
  console.log(
    '\ncascade / Mask R-CNN with backbone + FPN + RPN pooled over both detectors\' runs (the same network in both; ' +
      'mmdetection\'s model zoo, V100: Cascade R-CNN / Faster R-CNN R-50 1.33×, Cascade Mask R-CNN / Mask R-CNN R-50 1.44×)',
  );
  console.log(
    table(
      ['preset', 'shared s', 'box only (Cascade R-CNN / Faster R-CNN)', 'with masks (target ≤ 1.4×)'],
      rows.map(({ mask, ratios: q }) => [mask.preset, (q.sharedMs / 1000).toFixed(3), `${q.boxOnly.toFixed(2)}×`, `${q.withMasks.toFixed(2)}×`]),
    ),
  );
  for (const t of trains) {
    const stages = [0, 1, 2].map((i) => `s${i} cls ${t.losses[`s${i}.loss_cls`]?.toFixed(3)} bbox ${t.losses[`s${i}.loss_bbox`]?.toFixed(3)} mask ${t.losses[`s${i}.loss_mask`]?.toFixed(3)}`);
    console.log(
      `\ntraining step Cascade Mask R-CNN ${t.preset}-FPN (withCp), batch 1, ${t.input[0]}×${t.input[1]}: loss forward ${s(t.lossForward)} s, ` +
        `forward + backward + SGD ${s(t.step)} s (runs ${t.step.runsMs.map((v) => (v / 1000).toFixed(2)).join(', ')}); losses ${stages.join('; ')}`,
    );
  }
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`);
  const out = argValue('out') ?? join(repoRoot, 'work_dirs/bench/cascade.json');
  writeJson(out, { backend: info.backend, threads: info.threads, input: [h, w], repeats, loadBefore, loadAfter, inference: rows, train: trains });
  console.log(`wrote ${out}`);
}

await main();
