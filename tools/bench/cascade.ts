/**
 * `npm run bench:cascade` — Cascade Mask R-CNN against Mask R-CNN on this machine, in the same run, at COCO scale
 * (one 800×1333 image padded to 800×1344), mmdetection's test configs, random weights:
 *
 *   inference, split by stage: backbone + FPN | RPN (head + proposals: 1000) | cascade box stage 0, 1, 2 (RoIAlign
 *   7×7 + Shared2FC head on the 1000 RoIs, then the refinement to the next stage's RoIs) | box post-processing
 *   (stage-averaged softmax, decode, NMS) | masks (100 detections through the 3 mask heads, sigmoid, averaged,
 *   pasted, RLE); Mask R-CNN's RoI box head and mask + paste timed alike; the ratio cascade / Mask R-CNN of the sums
 *   (issue 18's target: ≤ 1.4×; mmdetection's is about 1.2–1.4×);
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
  masks: Timing;
  sumMs: number;
}

async function maskRcnnRow(preset: string, meta: ImageMeta, repeats: number): Promise<Row> {
  const model = new MaskRCNN({ backbone: PRESETS[preset]!(), seed: 1 });
  model.eval();
  const x = image(meta, 1);
  const metas = [meta];
  const cfg = model.config;
  try {
    const features = await time(() => {
      const l = model.features(x);
      l[0]!.dataSync();
      tf.dispose(l);
    }, repeats);
    const levels = model.features(x);
    let proposals: Float32Array[] = [];
    const rpn = await time(() => {
      const out = model.rpnHead.forward(levels);
      proposals = model.proposals(out, metas, cfg.test.rpn).map((p) => p.boxes);
      tf.dispose([...out.cls, ...out.reg]);
    }, repeats);
    const box = await time(() => void model.roiHead.predictBoxes(levels, proposals, metas, cfg.test.rcnn), repeats);
    const dets = [fakeDetections(proposals[0]!, model.numClasses, new Rng(3))];
    const masks = await time(() => void model.roiHead.predictMasks(levels, dets, metas, cfg.test.rcnn.maskThr), repeats);
    tf.dispose(levels);
    const sumMs = features.medianMs + rpn.medianMs + box.medianMs + masks.medianMs;
    return { preset, features, rpn, boxStages: [box], masks, sumMs };
  } finally {
    x.dispose();
    model.dispose();
  }
}

async function cascadeRow(preset: string, meta: ImageMeta, repeats: number): Promise<Row> {
  const model = new CascadeRCNN({ backbone: PRESETS[preset]!(), seed: 1 });
  model.eval();
  const x = image(meta, 1);
  const metas = [meta];
  const cfg = model.config;
  const head = model.roiHead;
  try {
    const features = await time(() => {
      const l = model.features(x);
      l[0]!.dataSync();
      tf.dispose(l);
    }, repeats);
    const levels = model.features(x);
    let proposals: Float32Array[] = [];
    const rpn = await time(() => {
      const out = model.rpnHead.forward(levels);
      proposals = model.proposals(out, metas, cfg.test.rpn).map((p) => p.boxes);
      tf.dispose([...out.cls, ...out.reg]);
    }, repeats);
    // stage by stage: the head on the current RoIs, then the refinement (as CascadeRoIHead.predictBoxes)
    const boxStages: Timing[] = [];
    let rois = proposals[0]!;
    const batch = new Int32Array(rois.length / 4);
    for (let i = 0; i < head.numStages; i++) {
      let next = rois;
      boxStages.push(
        await time(() => {
          const out = tf.tidy(() => {
            const o = head.bboxHeads[i]!.forward(head.bboxRoiFeatures(levels, rois, batch));
            return [o.cls, o.reg];
          });
          const logits = out[0]!.dataSync() as Float32Array;
          const deltas = out[1]!.dataSync() as Float32Array;
          tf.dispose(out);
          if (i < head.numStages - 1) next = regressByClass(rois, foregroundArgmax(logits, model.numClasses), deltas, model.numClasses, meta, head.stageCoder(i));
        }, repeats),
      );
      rois = next;
    }
    const whole = await time(() => void head.predictBoxes(levels, proposals, metas, cfg.test.rcnn), repeats);
    const stagesMs = boxStages.reduce((s, t) => s + t.medianMs, 0);
    // post-processing = the whole box path minus its stages (clamped at 0 against noise)
    const postMs = Math.max(0, whole.medianMs - stagesMs);
    boxStages.push({ ...whole, medianMs: postMs, runsMs: [postMs] });
    const dets = [fakeDetections(proposals[0]!, model.numClasses, new Rng(3))];
    const masks = await time(() => void head.predictMasks(levels, dets, metas, cfg.test.rcnn.maskThr), repeats);
    tf.dispose(levels);
    const sumMs = features.medianMs + rpn.medianMs + whole.medianMs + masks.medianMs;
    return { preset, features, rpn, boxStages, masks, sumMs };
  } finally {
    x.dispose();
    model.dispose();
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
  const rows: { mask: Row; cascade: Row }[] = [];
  for (const p of presets) {
    process.stderr.write(`  inference ${p}: Mask R-CNN, then Cascade Mask R-CNN\n`);
    rows.push({ mask: await maskRcnnRow(p, meta, repeats), cascade: await cascadeRow(p, meta, repeats) });
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
      ['preset', 'detector', 'backbone+FPN s', 'RPN s', 'box stages s', 'box post s', 'masks s', 'sum s', 'cascade / Mask R-CNN'],
      rows.flatMap(({ mask, cascade }) => [
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
          `${(cascade.sumMs / mask.sumMs).toFixed(2)}×`,
        ],
      ]),
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
