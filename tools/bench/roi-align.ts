/**
 * RoIAlign benchmark (src/ops/roi-align.ts, src/ops/roi-extractor.ts) at Mask R-CNN training sizes: FPN levels
 * P2–P5 of an 800×1333 image (P2 = 1×200×336×256), boxes sized log-uniformly from 16 to 800 px (aspect 1:2 … 2:1),
 * seeded. Cases:
 *   - box head: 512 RoIs → 7×7, adaptive sampling (mmdet), multi-level extractor;
 *   - mask head: 128 RoIs → 14×14, same;
 *   - engine.md's reference: 1000 RoIs → 14×14 from P2 alone;
 * and the two mask ops of the same issue on the CPU: mask targets for 128 positives and pasting 100 masks.
 * Each is timed forward (adaptive sampling, mmdet), forward + backward (gradients with respect to the level tensors
 * from a fixed random output gradient) and forward with one sample per bin (`samplingRatio: 1`, the work of a crop-and-resize), next to
 * `tf.image.cropAndResize` forward on the same boxes (one bilinear sample per bin, no gradient in TF.js): the
 * baseline the task names.
 *
 *   npm run bench:roi-align -- [--threads 2] [--repeats 5]
 *
 * The variants run round-robin (`repeats` rounds after one warm-up each) and each reports its median, so a load
 * spike on this shared machine hits all alike; the load average is recorded. Prints a table and writes
 * work_dirs/bench/roi-align.json. No assertions on time.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { roiAlign } from '../../src/ops/roi-align.js';
import { DEFAULT_STRIDES, extractRoiFeatures, mapRoiLevels } from '../../src/ops/roi-extractor.js';
import { encode } from '../../src/structures/rle.js';
import { maskTargetsData, type GtMasks } from '../../src/ops/mask-target.js';
import { pasteMasks } from '../../src/ops/paste-masks.js';
import { argValue, repoRoot, table, time, writeJson } from './harness.js';

const IMG_H = 800;
const IMG_W = 1333;
const C = 256;

function randomBoxes(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(4 * n);
  for (let k = 0; k < n; k++) {
    const size = 16 * Math.exp(rng.uniform() * Math.log(800 / 16));
    const aspect = Math.exp((rng.uniform() * 2 - 1) * Math.log(2));
    const w = Math.min(size * Math.sqrt(aspect), IMG_W);
    const h = Math.min(size / Math.sqrt(aspect), IMG_H);
    const x = rng.uniform() * (IMG_W - w);
    const y = rng.uniform() * (IMG_H - h);
    out.set([x, y, x + w, y + h], 4 * k);
  }
  return out;
}

/** tf.image.cropAndResize of each box on its level (boxes normalised to the level's [0, H−1] × [0, W−1] grid). */
function cropAndResizeLevels(feats: tf.Tensor4D[], boxes: Float32Array, levels: Int32Array, crop: number): tf.Tensor[] {
  return feats.map((f, l) => {
    const idx: number[] = [];
    levels.forEach((v, k) => v === l && idx.push(k));
    const [, H, W] = f.shape;
    const s = 1 / DEFAULT_STRIDES[l]!;
    const nb = new Float32Array(4 * idx.length);
    idx.forEach((k, j) => {
      nb.set([(boxes[4 * k + 1]! * s) / (H - 1), (boxes[4 * k]! * s) / (W - 1), (boxes[4 * k + 3]! * s) / (H - 1), (boxes[4 * k + 2]! * s) / (W - 1)], 4 * j);
    });
    return tf.tidy(() =>
      tf.image.cropAndResize(f, tf.tensor2d(nb, [idx.length, 4]), tf.zeros([idx.length], 'int32') as tf.Tensor1D, [crop, crop]),
    );
  });
}

interface Row {
  case: string;
  rois: number;
  out: number;
  /** Boxes per level P2…P5. */
  levels: number[];
  /** Medians in ms. */
  forwardMs: number;
  forwardBackwardMs: number;
  forwardRatio1Ms: number;
  cropAndResizeMs: number;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Time the variants round-robin (`rounds` times after one warm-up each), so load spikes hit them alike. */
async function interleaved(variants: Record<string, () => Promise<void>>, rounds: number): Promise<Record<string, number>> {
  const runs: Record<string, number[]> = {};
  for (const [k, f] of Object.entries(variants)) {
    await f();
    runs[k] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of Object.entries(variants)) {
      const t0 = performance.now();
      await f();
      runs[k]!.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
}

/** A filled ellipse inscribed in box b of an H×W image, row-major. */
function ellipse(b: ArrayLike<number>): Uint8Array {
  const m = new Uint8Array(IMG_H * IMG_W);
  const [x1, y1, x2, y2] = [b[0]!, b[1]!, b[2]!, b[3]!];
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  for (let y = Math.floor(y1); y < Math.ceil(y2); y++) {
    for (let x = Math.floor(x1); x < Math.ceil(x2); x++) {
      if (((x + 0.5 - cx) / ((x2 - x1) / 2)) ** 2 + ((y + 0.5 - cy) / ((y2 - y1) / 2)) ** 2 <= 1) m[y * IMG_W + x] = 1;
    }
  }
  return m;
}

/** Mask targets (128 positives, 20 GT instances as RLE, 800×1333) and pasting 100 masks (800×1333 → RLE). */
async function timeMaskOps(rng: Rng, repeats: number): Promise<{ case: string; ms: number }[]> {
  const gtBoxes = randomBoxes(rng, 20);
  const gt: GtMasks = {
    height: IMG_H,
    width: IMG_W,
    masks: Array.from({ length: 20 }, (_, g) => encode(ellipse(gtBoxes.subarray(4 * g, 4 * g + 4)), IMG_H, IMG_W, 'row')),
  };
  const assigned = Array.from({ length: 128 }, (_, i) => i % 20);
  const proposals = new Float32Array(4 * 128);
  assigned.forEach((g, i) => {
    const j = Array.from({ length: 4 }, () => (rng.uniform() - 0.5) * 20);
    proposals.set(Array.from(gtBoxes.subarray(4 * g, 4 * g + 4), (v, c) => v + j[c]!), 4 * i);
  });
  const targets = await time(() => void maskTargetsData(proposals, assigned, gt), repeats);
  const dets = randomBoxes(rng, 100);
  const probs = new Float32Array(100 * 28 * 28).map((_, i) => 1 / (1 + Math.exp(-Math.sin(i * 0.37) * 4)));
  const paste = await time(() => void pasteMasks(probs, dets, IMG_H, IMG_W), repeats);
  return [
    { case: 'mask targets: 128 RoIs, 20 RLE GT masks, 800×1333 → 28×28', ms: targets.medianMs },
    { case: 'paste 100 masks 28×28 → 800×1333 RLE', ms: paste.medianMs },
  ];
}

async function main(): Promise<void> {
  const threads = Number(argValue('threads') ?? 2);
  const rounds = Number(argValue('repeats') ?? 5);
  const info = await initEngine({ threads });
  const rng = new Rng(10);
  const feats = [1, 2, 3, 4].map((l) => {
    const s = 2 ** (l + 1);
    return tf.randomUniform([1, Math.ceil(IMG_H / s), Math.ceil(IMG_W / s), C], -1, 1, 'float32', l) as tf.Tensor4D;
  });
  const rows: Row[] = [];
  // wasm runs every op synchronously, so a result is complete when the call returns: reading it back would time a
  // 25–90 MB copy (even a 1-element tf.slice copies its whole input on wasm). Other backends are awaited.
  const sync = async (ts: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(ts) ? ts : [ts];
    if (info.backend !== 'wasm') for (const t of list) await t.data();
    tf.dispose(list);
  };

  const cases: { name: string; n: number; out: number; singleLevel: boolean }[] = [
    { name: 'box head: P2–P5', n: 512, out: 7, singleLevel: false },
    { name: 'mask head: P2–P5', n: 128, out: 14, singleLevel: false },
    { name: 'engine.md case: P2 only', n: 1000, out: 14, singleLevel: true },
  ];
  for (const { name, n, out, singleLevel } of cases) {
    const boxes = randomBoxes(rng, n);
    const levels = singleLevel ? new Int32Array(n) : mapRoiLevels(boxes, 4);
    const used = singleLevel ? [feats[0]!] : feats;
    const pool = (fs: tf.Tensor4D[], ratio: number) =>
      singleLevel
        ? roiAlign(fs[0]!, boxes, undefined, { outputSize: out, spatialScale: 0.25, samplingRatio: ratio })
        : extractRoiFeatures(fs, boxes, undefined, { outputSize: out, samplingRatio: ratio });
    // Backward from a fixed output gradient (tf.sum's own gradient would time TF.js's slow tf.ones fill).
    const dy = tf.randomUniform([n, out, out, C], -1, 1, 'float32', 3);
    const grads = tf.grads((...fs: tf.Tensor[]) => pool(fs as tf.Tensor4D[], 0));
    const t = await interleaved(
      {
        forward: () => sync(pool(used, 0)),
        forwardBackward: () => sync(grads(used, dy)),
        forwardRatio1: () => sync(pool(used, 1)),
        cropAndResize: () => sync(cropAndResizeLevels(used, boxes, levels, out)),
      },
      rounds,
    );
    dy.dispose();
    rows.push({
      case: `${name}, ${n} RoIs → ${out}×${out}`,
      rois: n,
      out,
      levels: [0, 1, 2, 3].map((l) => levels.filter((v) => v === l).length),
      forwardMs: t.forward!,
      forwardBackwardMs: t.forwardBackward!,
      forwardRatio1Ms: t.forwardRatio1!,
      cropAndResizeMs: t.cropAndResize!,
    });
    console.error(`${name}: done`);
  }
  tf.dispose(feats);
  const maskOps = await timeMaskOps(rng, rounds);

  const load = loadavg().map((v) => Number(v.toFixed(2)));
  console.log(
    table(
      ['case', 'fwd ms', 'fwd+bwd ms', 'fwd ratio 1 ms', 'cropAndResize ms', 'cropAndResize / fwd'],
      rows.map((r) => [r.case, r.forwardMs, r.forwardBackwardMs, r.forwardRatio1Ms, r.cropAndResizeMs, `${(r.cropAndResizeMs / r.forwardMs).toFixed(1)}×`]),
    ),
  );
  console.log(table(['mask op (CPU, no TF.js)', 'ms'], maskOps.map((m) => [m.case, m.ms])));
  console.log(`backend ${info.backend}, ${info.threads} threads; load average (1/5/15 min) ${load.join(' ')}; median of ${rounds} interleaved rounds`);
  const path = join(repoRoot, 'work_dirs', 'bench', 'roi-align.json');
  writeJson(path, { backend: info.backend, threads: info.threads, rounds, loadAverage: load, rows, maskOps });
  console.log(`wrote ${path}`);
  process.exit(0);
}

await main();
