/**
 * `npm run bench:ops`: CPU time of the detection ops on typed arrays at COCO scale (RetinaNet / RPN anchors at
 * 800×1344, assignment to 20 GT, delta encode/decode, NMS over 5000 candidates). CPU time (process.cpuUsage), so the
 * numbers hold when other processes share the machine. Writes work_dirs/bench/ops.json.
 */
import { writeJson } from './harness.js';
import { Rng } from '../../src/nn/rng.js';
import { AnchorGenerator, RETINANET_ANCHORS, RPN_ANCHORS } from '../../src/ops/anchors.js';
import { maxIouAssign, RETINANET_ASSIGNER, RPN_ASSIGNER } from '../../src/ops/assigner.js';
import { boxAreas } from '../../src/ops/boxes.js';
import { batchedNms, nms } from '../../src/ops/nms.js';
import { encodeDeltas, decodeDeltas } from '../../src/ops/box-coder.js';

const rows: { op: string; medianMs: number; minMs: number }[] = [];

function time(label: string, f: () => unknown, reps = 7) {
  f(); // warm
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const c0 = process.cpuUsage(); f(); const c = process.cpuUsage(c0); ts.push((c.user + c.system) / 1000); }
  ts.sort((a, b) => a - b);
  console.log(`${label.padEnd(60)} CPU median ${ts[reps >> 1]!.toFixed(1)} ms  min ${ts[0]!.toFixed(1)} ms`);
  rows.push({ op: label.trim(), medianMs: ts[reps >> 1]!, minMs: ts[0]! });
}
const feat = (h: number, w: number, strides: number[]) => strides.map((s) => [Math.ceil(h / s), Math.ceil(w / s)] as const);
const rng = new Rng(1);
function randGt(k: number, H: number, W: number) {
  const g = new Float32Array(k * 4);
  for (let i = 0; i < k; i++) { const w = 20 + rng.uniform() * 400, h = 20 + rng.uniform() * 300; const x = rng.uniform() * (W - w), y = rng.uniform() * (H - h); g.set([x, y, x + w, y + h], i * 4); }
  return g;
}
{
  const t0 = performance.now();
  const gen = new AnchorGenerator(RETINANET_ANCHORS);
  const sizes = feat(800, 1344, [8, 16, 32, 64, 128]);
  const a = gen.gridAnchors(sizes);
  console.log(`RetinaNet anchors 800x1344: ${a.flat.length / 4} anchors, first call ${(performance.now() - t0).toFixed(1)} ms`);
  time('RetinaNet anchors (cached)', () => gen.gridAnchors(sizes));
  const gt = randGt(20, 800, 1333);
  const labels = Array.from({ length: 20 }, (_, i) => i % 80);
  time(`assign ${a.flat.length / 4} anchors x 20 GT (RetinaNet)`, () => maxIouAssign({ priors: a.flat, gtBoxes: gt, gtLabels: labels }, RETINANET_ASSIGNER));
  const areas = boxAreas(a.flat);
  time(`  same, precomputed anchor areas`, () => maxIouAssign({ priors: a.flat, gtBoxes: gt, gtLabels: labels, priorAreas: areas }, RETINANET_ASSIGNER));
  const valid = gen.validFlags(sizes, [800, 1333]);
  const crowd = randGt(3, 800, 1333);
  time(`  + valid flags + 3 crowd boxes (iof 0.5)`, () => maxIouAssign({ priors: a.flat, gtBoxes: gt, gtLabels: labels, valid, ignoreBoxes: crowd, priorAreas: areas }, { ...RETINANET_ASSIGNER, ignoreIofThr: 0.5 }));
  const r = maxIouAssign({ priors: a.flat, gtBoxes: gt, gtLabels: labels }, RETINANET_ASSIGNER);
  const pos = Array.from(r.gtInds).filter((g) => g > 0).length;
  console.log(`  positives ${pos}`);
  const n = a.flat.length / 4;
  const tg = new Float32Array(n * 4); for (let i = 0; i < n; i++) tg.set(gt.subarray((i % 20) * 4, (i % 20) * 4 + 4), i * 4);
  time(`encode ${n} deltas`, () => encodeDeltas(a.flat, tg));
  const d = encodeDeltas(a.flat, tg);
  time(`decode ${n} deltas (clip)`, () => decodeDeltas(a.flat, d, { maxShape: [800, 1333] }));
}
{
  const gen = new AnchorGenerator(RPN_ANCHORS);
  const sizes = feat(800, 1344, [4, 8, 16, 32, 64]);
  const a = gen.gridAnchors(sizes);
  const gt = randGt(20, 800, 1333);
  time(`assign ${a.flat.length / 4} anchors x 20 GT (RPN)`, () => maxIouAssign({ priors: a.flat, gtBoxes: gt, gtLabels: new Int32Array(20) }, RPN_ASSIGNER));
}
{
  // RetinaNet post-processing: 1000 candidates per level x 5 levels, 80 classes, clustered boxes
  const n = 5000;
  const boxes = new Float32Array(n * 4), scores = new Float32Array(n), cls = new Int32Array(n);
  const centers = Array.from({ length: 30 }, () => [rng.uniform() * 1333, rng.uniform() * 800]);
  for (let i = 0; i < n; i++) {
    const c = centers[rng.int(30)]!; const w = 20 + rng.uniform() * 200, h = 20 + rng.uniform() * 200;
    const x = c[0]! + rng.normal() * 20, y = c[1]! + rng.normal() * 20;
    boxes.set([x - w / 2, y - h / 2, x + w / 2, y + h / 2], i * 4); scores[i] = 0.05 + rng.uniform() * 0.95; cls[i] = rng.int(80);
  }
  time('batchedNms 5000 boxes, 80 classes, thr 0.5', () => batchedNms(boxes, scores, cls, 0.5));
  time('batchedNms 5000 boxes, 80 classes, thr 0.5, maxOutput 100', () => batchedNms(boxes, scores, cls, 0.5, { maxOutput: 100 }));
  time('nms 5000 boxes, one class, thr 0.5 (clustered)', () => nms(boxes, scores, 0.5));
  time('batchedNms 5000 boxes, 5 classes, thr 0.5', () => batchedNms(boxes, scores, cls.map((c) => c % 5), 0.5));
  const sparse = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) { const x = (i % 100) * 14, y = Math.floor(i / 100) * 16; sparse.set([x, y, x + 10, y + 10], i * 4); }
  time('nms 5000 disjoint boxes, one class (worst case: n²/2 IoUs)', () => nms(sparse, scores, 0.5));
  console.log(`  kept ${batchedNms(boxes, scores, cls, 0.5).length} of ${n}`);
}

writeJson('work_dirs/bench/ops.json', { unit: 'CPU ms per call', rows });
