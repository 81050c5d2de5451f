/**
 * `npm run bench:mask-rcnn` — Mask R-CNN on this machine at COCO scale (one 800×1333 image, padded to 800×1344 as
 * mmdetection's pad_size_divisor 32), with mmdetection's test config and random weights:
 *
 *   inference, split into  backbone (C2–C5, eval) | neck (FPN P2–P6) | RPN (head + proposals: top-1000 per level,
 *   NMS 0.7, 1000 kept) | RoI box head (1000 RoIs: RoIAlign 7×7, 2 FC, softmax, per-class decode + NMS) |
 *   mask head + paste (100 detections: RoIAlign 14×14, 4 convs, deconv, 28×28 → pasted into the image, RLE),
 *   and the end-to-end `predict`;
 *   training step (ResNet-50-FPN and TiedResNet-50-FPN, batch 1, 1333×800, backbone activation checkpointing):
 *   loss forward + backward + SGD update (momentum, weight decay).
 *
 * Random weights give no detection above score_thr 0.05, so the mask stage is timed on the 100 best proposals with
 * random labels (what a trained model's 100 detections cost); the end-to-end `predict` therefore skips the mask head
 * and is reported separately. Medians of `--repeats` runs after one warm-up.
 *
 * Reference, in the same run (issue 23): torchvision's maskrcnn_resnet50_fpn per stage — backbone, FPN, RPN (head +
 * 1000 proposals) — alternated with the same stages of tiedet (tools/reference/torch_bench.py `maskrcnn-stages`,
 * same input and threads). The RoI heads are not compared: Debian torchvision's CPU RoIAlign is abnormally slow
 * (about 14 s for 1000 proposals), so whole-detector times would flatter tiedet. "reference not measured" without a
 * python3 with torch + torchvision; `--no-reference` skips it.
 *
 * Options: --presets resnet50,tiedResNet50 --input 800x1333 --repeats 3 --train-input HxW (default: --input)
 * --train-repeats 3 --no-train --train-presets resnet50,tiedResNet50 --no-cp (training without the backbone's activation
 * checkpointing: at 1333×800 that outgrows the 4 GiB wasm heap and stalls)
 * --out work_dirs/bench/mask-rcnn.json. The machine load (os.loadavg) is recorded: re-run on a quiet machine.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import type { MaskRcnnTargets } from '../../detectors/mask-rcnn/targets.js';
import { complexity } from '../../src/backbones/complexity.js';
import { resnet50, tiedResNet50 } from '../../src/backbones/presets.js';
import type { ResNet } from '../../src/backbones/resnet.js';
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { backendMemory } from '../../src/engine/kernels/heap-wasm.js';
import { argValue, repoRoot, table, time, writeJson, type Timing } from './harness.js';
import { fakeDetections, image, metaFor, parseInput } from './two-stage-inputs.js';
import { median, startReference, type Reference, type ReferenceRun } from './reference.js';

/** tiedet's backbone | neck | RPN and torchvision's, alternated (medians in ms; ratio tiedet / PyTorch per stage). */
interface StagesSideBySide {
  tiedetMs: Record<'backbone' | 'neck' | 'rpn' | 'total', number>;
  torchMs: Record<'backbone' | 'neck' | 'rpn' | 'total', number>;
  spread: [number, number];
}

// zero-init residuals keep the random network's activations finite (eval-mode BN with unit statistics lets a deep
// random network overflow to Inf/NaN, which would leave no proposals to time); the compute is the same.
const PRESETS: Record<string, (withCp?: boolean) => ResNet> = {
  resnet50: (withCp = false) => resnet50({ numClasses: null, seed: 1, zeroInitResidual: true, withCp }),
  tiedResNet50: (withCp = false) => tiedResNet50({ numClasses: null, seed: 1, zeroInitResidual: true, withCp }),
};


/** Analytic MACs (convs + FCs, fvcore's convention) of each inference stage, batch 1. */
interface StageMacs {
  backbone: number;
  neck: number;
  rpn: number;
  roiBox: number;
  maskHead: number;
}

function stageMacs(model: MaskRCNN, levels: readonly tf.Tensor4D[], h: number, w: number, rois: number, dets: number): StageMacs {
  const m = model.config.model;
  const F = m.neck.outChannels;
  const px = levels.map((l) => l.shape[1] * l.shape[2]);
  const inC = model.backbone.outChannels;
  const neck = inC.reduce((s, c, i) => s + px[i]! * c * F + px[i]! * 9 * F * F, 0);
  const A = model.rpnHead.numAnchors;
  const rpn = px.reduce((s, p) => s + p * (9 * F * m.rpnHead.featChannels + m.rpnHead.featChannels * 5 * A), 0);
  const s7 = m.bboxHead.roiExtractor.outputSize ** 2;
  const fc = m.bboxHead.fcChannels;
  const C = model.numClasses;
  const roiBox = rois * (F * s7 * fc + (m.bboxHead.numSharedFcs - 1) * fc * fc + fc * (C + 1) + fc * 4 * C);
  const s14 = m.maskHead.roiExtractor.outputSize ** 2;
  const ch = m.maskHead.convChannels;
  const convs = Array.from({ length: m.maskHead.numConvs }, (_, i) => 9 * (i === 0 ? F : ch) * ch).reduce((a, b) => a + b, 0);
  const maskHead = dets * (s14 * convs + s14 * 4 * ch * ch + 4 * s14 * ch * C);
  return { backbone: complexity(model.backbone as ResNet, [h, w]).macs, neck, rpn, roiBox, maskHead };
}

interface InferenceRow {
  preset: string;
  gmacs: StageMacs;
  backbone: Timing;
  neck: Timing;
  rpn: Timing;
  roiBox: Timing;
  maskPaste: Timing;
  partsMs: number;
  predictNoMasks: Timing;
  sideBySide: StagesSideBySide | null;
}

async function inference(preset: string, meta: ImageMeta, repeats: number, ref: Reference | null): Promise<InferenceRow> {
  const model = new MaskRCNN({ backbone: PRESETS[preset]!(), seed: 1 });
  model.eval();
  const cfg = model.config;
  const x = image(meta, 1);
  const metas = [meta];
  try {
    const backbone = await time(() => {
      const f = model.backbone.forward(x);
      f.c5.dataSync();
      tf.dispose([f.c2, f.c3, f.c4, f.c5]);
    }, repeats);
    const feats = model.backbone.forward(x);
    const neck = await time(() => {
      const levels = model.neck.forward(feats);
      levels[0]!.dataSync();
      tf.dispose(levels);
    }, repeats);
    const levels = model.neck.forward(feats);
    tf.dispose([feats.c2, feats.c3, feats.c4, feats.c5]);
    const macs = stageMacs(model, levels, meta.padSize.height, meta.padSize.width, cfg.test.rpn.maxPerImg, 100);
    const gmacs = Object.fromEntries(Object.entries(macs).map(([k, v]) => [k, v / 1e9])) as unknown as StageMacs;
    let proposals: Float32Array[] = [];
    const rpn = await time(() => {
      const out = model.rpnHead.forward(levels);
      proposals = model.proposals(out, metas, cfg.test.rpn).map((p) => p.boxes);
      tf.dispose([...out.cls, ...out.reg]);
    }, repeats);
    const count = proposals[0]!.length / 4;
    if (count < 100) throw new Error(`${preset}: only ${count} proposals (non-finite features?): nothing to time the RoI heads on`);
    const roiBox = await time(() => {
      model.roiHead.predictBoxes(levels, proposals, metas, cfg.test.rcnn);
    }, repeats);
    const dets = [fakeDetections(proposals[0]!, model.numClasses, new Rng(3))];
    const maskPaste = await time(() => {
      model.roiHead.predictMasks(levels, dets, metas, cfg.test.rcnn.maskThr);
    }, repeats);
    tf.dispose(levels);
    const predictNoMasks = await time(() => {
      model.predict({ images: x, metas });
    }, repeats);
    const partsMs = backbone.medianMs + neck.medianMs + rpn.medianMs + roiBox.medianMs + maskPaste.medianMs;
    let sideBySide: StagesSideBySide | null = null;
    if (ref) {
      const mine: Record<'backbone' | 'neck' | 'rpn' | 'total', number>[] = [];
      const theirs: ReferenceRun[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        const f = model.backbone.forward(x);
        f.c5.dataSync();
        const t1 = performance.now();
        const lv = model.neck.forward(f);
        lv[0]!.dataSync();
        const t2 = performance.now();
        const out = model.rpnHead.forward(lv);
        model.proposals(out, metas, cfg.test.rpn);
        const t3 = performance.now();
        tf.dispose([f.c2, f.c3, f.c4, f.c5, ...lv, ...out.cls, ...out.reg]);
        mine.push({ backbone: t1 - t0, neck: t2 - t1, rpn: t3 - t2, total: t3 - t0 });
        theirs.push(await ref.run());
        process.stderr.write(`    side by side ${i + 1}/${repeats}: tiedet ${((t3 - t0) / 1000).toFixed(2)} s, PyTorch ${(theirs[i]!.ms / 1000).toFixed(2)} s\n`);
      }
      const keys = ['backbone', 'neck', 'rpn', 'total'] as const;
      const ratios = mine.map((m, i) => m.total / theirs[i]!.ms);
      sideBySide = {
        tiedetMs: Object.fromEntries(keys.map((k) => [k, median(mine.map((m) => m[k]))])) as StagesSideBySide['tiedetMs'],
        torchMs: Object.fromEntries(keys.map((k) => [k, median(theirs.map((r) => (k === 'total' ? r.ms : r.parts[k]!)))])) as StagesSideBySide['torchMs'],
        spread: [Math.min(...ratios), Math.max(...ratios)],
      };
    }
    return { preset, gmacs, backbone, neck, rpn, roiBox, maskPaste, partsMs, predictNoMasks, sideBySide };
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** A few box + mask targets in network pixels. */
function targetsFor(meta: ImageMeta): MaskRcnnTargets {
  const { width: W, height: H } = meta.padSize;
  const s = meta.resizedSize.height / 800; // boxes laid out for 800×1333, scaled to the input
  const boxes = [
    [100, 120, 400, 500],
    [600, 200, 900, 420],
    [1000, 450, 1250, 760],
    [300, 550, 520, 700],
  ].map((b) => b.map((v) => Math.round(v * s)));
  const masks = new Uint8Array(boxes.length * H * W);
  boxes.forEach(([x1, y1, x2, y2], g) => {
    for (let y = y1!; y < y2!; y++) masks.fill(1, g * H * W + y * W + x1!, g * H * W + y * W + x2!);
  });
  return { boxes: Float32Array.from(boxes.flat()), labels: Int32Array.from([0, 5, 17, 56]), masks };
}

interface TrainResult {
  preset: string;
  /** Backbone activation checkpointing (`withCp`). */
  withCp: boolean;
  input: [number, number];
  lossForward: Timing;
  step: Timing;
  losses: Record<string, number>;
  /** Resident set size after the runs (the wasm heap never shrinks, so this is ≈ its peak), GiB. */
  rssGiB: number;
  /** Size of the wasm heap after the runs (= its peak; the cap is 4 GiB), GiB; null on other backends. */
  wasmHeapGiB: number | null;
}

async function trainStep(preset: string, meta: ImageMeta, repeats: number, withCp: boolean): Promise<TrainResult> {
  const model = new MaskRCNN({ backbone: PRESETS[preset]!(withCp), seed: 1 });
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
        l.loss_mask!.dataSync();
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
    const heap = backendMemory();
    return {
      preset,
      withCp,
      input: [meta.resizedSize.height, meta.resizedSize.width],
      lossForward,
      step,
      losses,
      rssGiB: process.memoryUsage().rss / 2 ** 30,
      wasmHeapGiB: heap ? heap.buffer.byteLength / 2 ** 30 : null,
    };
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
  const trainRepeats = Number(argValue('train-repeats') ?? 3);
  const presets = (argValue('presets') ?? 'resnet50,tiedResNet50').split(',').filter((p) => p !== '');
  const trainPresets = (argValue('train-presets') ?? 'resnet50,tiedResNet50').split(',').filter((p) => p !== '');
  for (const p of [...presets, ...trainPresets]) {
    if (!PRESETS[p]) throw new Error(`--presets / --train-presets: unknown preset "${p}" (known: ${Object.keys(PRESETS).join(', ')})`);
  }
  const meta = metaFor(h, w);
  const loadBefore = loadavg();
  process.stderr.write(`mask-rcnn bench: ${info.backend} × ${info.threads} threads, input ${h}×${w} (padded ${meta.padSize.height}×${meta.padSize.width}), load ${loadBefore.map((l) => l.toFixed(1)).join(' ')}\n`);
  const rows: InferenceRow[] = [];
  let ref: Reference | null = null;
  let refMissing = '--no-reference';
  if (presets.length && !process.argv.includes('--no-reference')) {
    const r = await startReference('maskrcnn-stages', [h, w], info.threads);
    if ('missing' in r) refMissing = r.missing;
    else ref = r;
  }
  for (const p of presets) {
    process.stderr.write(`  inference ${p}\n`);
    rows.push(await inference(p, meta, repeats, ref));
  }
  ref?.close();
  const trains: TrainResult[] = [];
  if (!process.argv.includes('--no-train')) {
    const [th, tw] = parseInput(argValue('train-input') ?? `${h}x${w}`);
    const withCp = !process.argv.includes('--no-cp');
    for (const p of trainPresets) {
      process.stderr.write(`  training step ${p} at ${th}×${tw}${withCp ? ' (withCp)' : ''}\n`);
      trains.push(await trainStep(p, metaFor(th, tw), trainRepeats, withCp));
    }
  }
  const loadAfter = loadavg();
  const s = (t: Timing) => t.medianMs / 1000;
  console.log(
    table(
      ['preset', 'backbone s', 'neck s', 'RPN s', 'RoI box s', 'mask+paste s', 'sum s', 'predict (no masks) s'],
      rows.map((r) => [r.preset, s(r.backbone), s(r.neck), s(r.rpn), s(r.roiBox), s(r.maskPaste), r.partsMs / 1000, s(r.predictNoMasks)]),
    ),
  );
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(
    ref
      ? '\nside by side with torchvision maskrcnn_resnet50_fpn (same input and threads, alternated; median s; RoI heads not compared)\n' +
          table(
            ['preset', 'backbone tiedet / PyTorch', 'neck', 'RPN', 'total', 'ratio backbone', 'neck', 'RPN', 'total (pair min–max)'],
            rows.map((r) => {
              const b = r.sideBySide!;
              return [
                r.preset,
                `${(b.tiedetMs.backbone / 1000).toFixed(2)} / ${(b.torchMs.backbone / 1000).toFixed(2)}`,
                `${(b.tiedetMs.neck / 1000).toFixed(2)} / ${(b.torchMs.neck / 1000).toFixed(2)}`,
                `${(b.tiedetMs.rpn / 1000).toFixed(2)} / ${(b.torchMs.rpn / 1000).toFixed(2)}`,
                `${(b.tiedetMs.total / 1000).toFixed(2)} / ${(b.torchMs.total / 1000).toFixed(2)}`,
                x(b.tiedetMs.backbone, b.torchMs.backbone),
                x(b.tiedetMs.neck, b.torchMs.neck),
                x(b.tiedetMs.rpn, b.torchMs.rpn),
                `${x(b.tiedetMs.total, b.torchMs.total)} (${b.spread[0].toFixed(2)}–${b.spread[1].toFixed(2)})`,
              ];
            }),
          )
      : `\nPyTorch reference not measured: ${refMissing}`,
  );
  const rate = (g: number, t: Timing) => `${(g / s(t)).toFixed(1)}`;
  console.log(
    '\nGMAC (convs + FCs) and GMAC/s per stage\n' +
      table(
        ['preset', 'backbone', 'neck', 'RPN', 'RoI box', 'mask head'],
        rows.map((r) => [
          r.preset,
          `${r.gmacs.backbone.toFixed(1)} @ ${rate(r.gmacs.backbone, r.backbone)}`,
          `${r.gmacs.neck.toFixed(1)} @ ${rate(r.gmacs.neck, r.neck)}`,
          `${r.gmacs.rpn.toFixed(1)} @ ${rate(r.gmacs.rpn, r.rpn)}`,
          `${r.gmacs.roiBox.toFixed(1)} @ ${rate(r.gmacs.roiBox, r.roiBox)}`,
          `${r.gmacs.maskHead.toFixed(1)} @ ${rate(r.gmacs.maskHead, r.maskPaste)}`,
        ]),
      ),
  );
  for (const train of trains) {
    const [th, tw] = train.input;
    console.log(
      `\ntraining step ${train.preset}-FPN${train.withCp ? ' (withCp)' : ''}, batch 1, ${th}×${tw}: loss forward ${s(train.lossForward).toFixed(2)} s, ` +
        `forward + backward + SGD ${s(train.step).toFixed(2)} s ` +
        `(median of ${trainRepeats}; runs ${train.step.runsMs.map((v) => (v / 1000).toFixed(2)).join(', ')}); RSS ${train.rssGiB.toFixed(2)} GiB` +
        (train.wasmHeapGiB === null ? '' : `, wasm heap ${train.wasmHeapGiB.toFixed(2)} GiB`),
    );
  }
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`);
  const out = argValue('out') ?? join(repoRoot, 'work_dirs/bench/mask-rcnn.json');
  writeJson(out, {
    backend: info.backend,
    threads: info.threads,
    input: [h, w],
    padded: [meta.padSize.height, meta.padSize.width],
    repeats,
    reference: ref ? 'torchvision maskrcnn_resnet50_fpn backbone / FPN / RPN, alternated (inference[].sideBySide)' : `not measured: ${refMissing}`,
    loadBefore,
    loadAfter,
    inference: rows,
    train: trains.map((t) => ({ batch: 1, ...t })),
    note: 'mask+paste is timed on 100 proposals with random labels (random weights detect nothing above score_thr 0.05)',
  });
  console.log(`wrote ${out}`);
}

await main();
