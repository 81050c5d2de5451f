/**
 * `npm run bench:detect` — per-image inference time of RetinaNet (backbone + FPN P3–P7 + RetinaHead + post-processing,
 * mmdetection's test settings: 80 classes, nms_pre 1000, score_thr 0.05, NMS 0.5, 100 per image) with ResNet-50 and
 * TiedResNet-50 backbones at 800×1333 (padded to 800×1344 as mmdetection / torchvision pad to 32), split into
 * backbone / neck / head / post-processing (each part awaits its output before the next starts), median of
 * `--repeats` runs after one warm-up. Reference: torchvision `retinanet_resnet50_fpn` on this machine's CPU
 * (PyTorch, 2 cores): 6.3 s per image.
 *
 * Random weights (backbones with `zeroInitResidual`, so activations stay O(1) as in a trained network), realistic
 * post-processing load: after the warm-up the classification bias is set so that at least 5 % of the (anchor, class)
 * scores of every level exceed score_thr (P3 then has millions of candidates: a heavy case), so every level hands
 * its top-k ≥ 1000 candidates (P7 at 800×1344 has 7·11·9·80 = 55,440 scores) to decoding and NMS. The
 * candidate counts are printed.
 *
 * The machine is shared: besides wall time the script prints process CPU time per part and an idle-machine estimate
 * scaled by a yardstick convolution timed between the runs (see YARDSTICK_IDLE_MS); `uptime` tells how busy it was.
 *
 * `--train-step` also times training iterations (issue #9): batch 1 at the same size, the COCO config's model state
 * (stem + stage 1 frozen, BN frozen: the presets' defaults; backbone activation checkpointing as the COCO configs,
 * `--no-cp` without), four GT boxes, loss + gradients + SGD update
 * (momentum 0.9, wd 1e-4), median of `--train-repeats` (default 2) after one warm-up iteration.
 *
 * Options: --presets resnet50,tiedResNet50 (and any backbone preset name), --input 800x1333, --repeats 3,
 * --threads N (default: all cores), --backend wasm, --profile (per-kernel table of one full run), --train-step,
 * --train-repeats 2, --no-inference, --out work_dirs/bench/detect.json. Runs in a child process (wasm threads are
 * fixed per process).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { SGD } from '../../src/train/sgd.js';
import type { RetinaHeadOutput } from '../../detectors/retinanet/head.js';
import { topKAboveThreshold } from '../../detectors/retinanet/postprocess.js';
import { initEngine, type BackendName } from '../../src/engine/index.js';
import { loadPresets, parseInput, selectPresets } from '../backbone-presets.js';
import { profileKernels } from './kernel-profile.js';
import { argValue, repoRoot, runChild, table, writeJson } from './harness.js';

const SCRIPT = fileURLToPath(import.meta.url);
const PARTS = ['backbone', 'neck', 'head', 'post'] as const;
type Part = (typeof PARTS)[number];
/** torchvision retinanet_resnet50_fpn, PyTorch CPU, this machine (issue #8). */
const TORCH_REFERENCE_MS = 6300;
/**
 * A yardstick timed next to every run: conv 3×3 256→256 on 1×100×168×256 (one of the head's P3 convs), 320 ms on
 * this machine when idle (README, bench:engine). Other processes slow it and the detector alike, so
 * wall × 320 / yardstick estimates the idle-machine time (printed as such, next to the measured one).
 */
const YARDSTICK_IDLE_MS = 320;

interface Row {
  name: string;
  runsMs: Record<Part | 'total', number[]>;
  medianMs: Record<Part | 'total', number>;
  /** Process CPU time (all threads, user + system) per part: insensitive to other processes on the machine. */
  cpuRunsMs: Record<Part | 'total', number[]>;
  cpuMedianMs: Record<Part | 'total', number>;
  /** Per level: scores above score_thr, and the candidates kept (≤ nms_pre). */
  candidates: { above: number; kept: number }[];
  detections: number;
  /** The yardstick conv's time next to each run, and its median. */
  yardstickRunsMs: number[];
  yardstickMs: number;
  profile?: string;
  /** Training iteration (batch 1): wall and process CPU ms per run. */
  train?: { runsMs: number[]; cpuRunsMs: number[]; medianMs: number; cpuMedianMs: number; losses: Record<string, number> };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Set the classification bias (one for all levels: the head is shared) so that at least `fraction` of every level's
 * scores exceed score_thr: the bias puts the lowest per-level (1 − fraction) quantile of the logits at the threshold.
 */
function calibrateScores(model: RetinaNet, out: RetinaHeadOutput, fraction: number): void {
  const thr = model.config.test.scoreThr;
  const target = Math.log(thr / (1 - thr));
  const bias = model.bboxHead.retinaCls.bias!;
  const b0 = bias.dataSync()[0]!; // all equal (prior-probability init)
  let q = Infinity;
  for (const t of out.cls) {
    const v = Float32Array.from(t.dataSync() as Float32Array, (x) => x - b0).sort();
    q = Math.min(q, v[Math.floor((1 - fraction) * (v.length - 1))]!);
  }
  tf.tidy(() => bias.assign(tf.fill(bias.shape, target - q)));
}

/** The meta of a random h×w input padded to a multiple of 32 (no resize, no flip). */
function randomImageMeta(h: number, w: number): ImageMeta {
  return {
    imageId: 1,
    file: 'random',
    originalSize: { width: w, height: h },
    resizedSize: { width: w, height: h },
    padSize: { width: Math.ceil(w / 32) * 32, height: Math.ceil(h / 32) * 32 },
    scaleFactor: [1, 1],
    flipped: false,
  };
}

/** Time `repeats` training iterations (after one warm-up) of a RetinaNet on `backbone` at h×w, batch 1. */
async function trainIteration(
  backbone: (o: { seed: number; numClasses: null; withCp: boolean }) => RetinaNet['backbone'],
  h: number,
  w: number,
  repeats: number,
  withCp: boolean,
): Promise<NonNullable<Row['train']>> {
  const [ph, pw] = [Math.ceil(h / 32) * 32, Math.ceil(w / 32) * 32];
  const model = new RetinaNet({ backbone: backbone({ seed: 1, numClasses: null, withCp }), seed: 2 });
  model.train();
  const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = tf.randomUniform([1, ph, pw, 3], -2, 2, 'float32', 3) as tf.Tensor4D;
  const meta = randomImageMeta(h, w);
  const s = h / 800;
  const boxes = Float32Array.from([100, 120, 400, 500, 600, 200, 900, 420, 1000, 450, 1250, 760, 300, 550, 520, 700].map((v) => v * s));
  const batch = { images: x, metas: [meta], targets: [{ boxes, labels: Int32Array.from([0, 5, 17, 56]) }] };
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let losses: Record<string, number> = {};
  const step = async (): Promise<[number, number]> => {
    const c0 = cpu();
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => {
      const l = model.loss(batch);
      return tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
    }, model.trainableVariables());
    sgd.step(grads);
    const v = await value.data();
    losses = { loss: v[0]! };
    tf.dispose([value, ...Object.values(grads)]);
    return [performance.now() - t0, cpu() - c0];
  };
  try {
    await step();
    const runsMs: number[] = [];
    const cpuRunsMs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const [ms, c] = await step();
      runsMs.push(ms);
      cpuRunsMs.push(c);
    }
    return { runsMs, cpuRunsMs, medianMs: median(runsMs), cpuMedianMs: median(cpuRunsMs), losses };
  } finally {
    x.dispose();
    sgd.dispose();
    model.dispose();
  }
}

async function child(): Promise<{ backend: string; threads: number; input: [number, number]; padded: [number, number]; rows: Row[] }> {
  const info = await initEngine({ backend: (argValue('backend') ?? 'wasm') as BackendName, threads: Number(argValue('threads') ?? availableParallelism()) });
  const [h, w] = parseInput(argValue('input') ?? '800x1333');
  const [ph, pw] = [Math.ceil(h / 32) * 32, Math.ceil(w / 32) * 32];
  const repeats = Math.max(1, Number(argValue('repeats') ?? 3));
  const presets = await loadPresets();
  const rows: Row[] = [];
  for (const entry of argValue('no-inference') !== undefined ? [] : selectPresets(argValue('presets') ?? 'resnet50,tiedResNet50')) {
    process.stderr.write(`  [${info.backend} ×${info.threads}] ${entry.name}\n`);
    // zeroInitResidual: random residual branches would blow activations up stage by stage (TiedResNet-50's C5 reaches
    // ~1e8 at random init, the head then overflows); starting each block at its identity keeps them O(1) as in a
    // trained network. The amount of computation is the same.
    const model = new RetinaNet({ backbone: entry.pick(presets)({ seed: 1, numClasses: null, zeroInitResidual: true }), seed: 2 });
    model.eval();
    const x = tf.randomUniform([1, ph, pw, 3], -2, 2, 'float32', 3) as tf.Tensor4D;
    const meta = randomImageMeta(h, w);
    const runsMs: Row['runsMs'] = { backbone: [], neck: [], head: [], post: [], total: [] };
    const cpuRunsMs: Row['cpuRunsMs'] = { backbone: [], neck: [], head: [], post: [], total: [] };
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    let candidates: Row['candidates'] = [];
    let detections = 0;
    const run = async (record: boolean): Promise<void> => {
      const c0 = cpu();
      const t0 = performance.now();
      const feats = model.backbone.forward(x);
      await feats.c5.data();
      const t1 = performance.now();
      const c1 = cpu();
      const levels = model.neck.forward(feats);
      await levels[levels.length - 1]!.data();
      const t2 = performance.now();
      const c2 = cpu();
      const out = model.bboxHead.forward(levels);
      await out.reg[out.reg.length - 1]!.data();
      const t3 = performance.now();
      const c3 = cpu();
      const dets = model.postProcess(out, [meta]);
      const t4 = performance.now();
      const c4 = cpu();
      detections = dets[0]!.scores.length;
      if (record) {
        runsMs.backbone.push(t1 - t0);
        runsMs.neck.push(t2 - t1);
        runsMs.head.push(t3 - t2);
        runsMs.post.push(t4 - t3);
        runsMs.total.push(t4 - t0);
        cpuRunsMs.backbone.push(c1 - c0);
        cpuRunsMs.neck.push(c2 - c1);
        cpuRunsMs.head.push(c3 - c2);
        cpuRunsMs.post.push(c4 - c3);
        cpuRunsMs.total.push(c4 - c0);
      }
      tf.dispose([feats.c2, feats.c3, feats.c4, feats.c5, ...levels, ...out.cls, ...out.reg]);
    };
    // warm-up, then make the scores realistic and count the candidates per level
    await run(false);
    const out = tf.tidy(() => model.forward(x));
    calibrateScores(model, out, 0.05);
    tf.dispose([...out.cls, ...out.reg]);
    const after = tf.tidy(() => model.forward(x));
    const thr = model.config.test.scoreThr;
    candidates = after.cls.map((t) => {
      const logits = t.dataSync() as Float32Array;
      const cut = Math.log(thr / (1 - thr));
      let above = 0;
      for (const v of logits) if (v > cut) above++;
      return { above, kept: topKAboveThreshold(logits, thr, model.config.test.nmsPre).indices.length };
    });
    tf.dispose([...after.cls, ...after.reg]);
    await run(false);
    const yw = tf.randomNormal([3, 3, 256, 256], 0, 0.01, 'float32', 4) as tf.Tensor4D;
    const yx = tf.randomNormal([1, 100, 168, 256], 0, 1, 'float32', 5) as tf.Tensor4D;
    const yardstick = async (): Promise<number> => {
      const t0 = performance.now();
      const y = tf.conv2d(yx, yw, 1, 'same');
      await y.data();
      y.dispose();
      return performance.now() - t0;
    };
    await yardstick();
    const yardstickRunsMs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      yardstickRunsMs.push(await yardstick());
      await run(true);
    }
    yardstickRunsMs.push(await yardstick());
    tf.dispose([yw, yx]);
    const row: Row = {
      name: entry.name,
      runsMs,
      medianMs: {
        backbone: median(runsMs.backbone),
        neck: median(runsMs.neck),
        head: median(runsMs.head),
        post: median(runsMs.post),
        total: median(runsMs.total),
      },
      cpuRunsMs,
      cpuMedianMs: {
        backbone: median(cpuRunsMs.backbone),
        neck: median(cpuRunsMs.neck),
        head: median(cpuRunsMs.head),
        post: median(cpuRunsMs.post),
        total: median(cpuRunsMs.total),
      },
      candidates,
      detections,
      yardstickRunsMs,
      yardstickMs: median(yardstickRunsMs),
    };
    if (argValue('profile') !== undefined) row.profile = (await profileKernels(() => run(false))).table;
    rows.push(row);
    x.dispose();
    model.dispose();
  }
  if (argValue('train-step') !== undefined) {
    const trainRepeats = Math.max(1, Number(argValue('train-repeats') ?? 2));
    for (const entry of selectPresets(argValue('presets') ?? 'resnet50,tiedResNet50')) {
      process.stderr.write(`  [${info.backend} ×${info.threads}] ${entry.name}: training iteration at ${h}×${w}\n`);
      let row = rows.find((r) => r.name === entry.name);
      if (!row) {
        row = { name: entry.name, runsMs: { backbone: [], neck: [], head: [], post: [], total: [] }, medianMs: { backbone: NaN, neck: NaN, head: NaN, post: NaN, total: NaN }, cpuRunsMs: { backbone: [], neck: [], head: [], post: [], total: [] }, cpuMedianMs: { backbone: NaN, neck: NaN, head: NaN, post: NaN, total: NaN }, candidates: [], detections: 0, yardstickRunsMs: [], yardstickMs: NaN };
        rows.push(row);
      }
      row.train = await trainIteration(entry.pick(presets), h, w, trainRepeats, argValue('no-cp') === undefined);
    }
  }
  return { backend: info.backend, threads: info.threads, input: [h, w], padded: [ph, pw], rows };
}

async function main(): Promise<void> {
  if (argValue('child') !== undefined) {
    process.stdout.write(`${JSON.stringify(await child())}\n`);
    return;
  }
  const pass = ['presets', 'input', 'repeats', 'threads', 'backend'].flatMap((k) => {
    const v = argValue(k);
    return v === undefined ? [] : [`--${k}`, v];
  });
  for (const flag of ['profile', 'train-step', 'no-inference', 'no-cp']) if (process.argv.includes(`--${flag}`)) pass.push(`--${flag}`, '1');
  const tr = argValue('train-repeats');
  if (tr !== undefined) pass.push('--train-repeats', tr);
  const r = runChild<Awaited<ReturnType<typeof child>>>(SCRIPT, ['--child', '1', ...pass]);
  const out = argValue('out') ?? `${repoRoot}/work_dirs/bench/detect.json`;
  const inf = r.rows.filter((x) => x.runsMs.total.length > 0);
  process.stdout.write(
    `\nRetinaNet inference, 1 image ${r.input[0]}×${r.input[1]} (padded ${r.padded[0]}×${r.padded[1]}), ${r.backend} ×${r.threads} threads; ` +
      `median ms of ${r.rows[0]?.runsMs.total.length ?? 0} runs after a warm-up\n`,
  );
  process.stdout.write(
    `${table(
      ['backbone preset', 'backbone', 'neck', 'head', 'post', 'total', 'vs torch 6.3 s', 'detections'],
      inf.map((x) => [
        x.name,
        x.medianMs.backbone,
        x.medianMs.neck,
        x.medianMs.head,
        x.medianMs.post,
        x.medianMs.total,
        `${(x.medianMs.total / TORCH_REFERENCE_MS).toFixed(2)}×`,
        String(x.detections),
      ]),
    )}\n`,
  );
  process.stdout.write(
    `\nestimated on an idle machine (× ${YARDSTICK_IDLE_MS} ms / yardstick conv 3×3 256→256 @100×168 timed alongside)\n` +
      `${table(
        ['backbone preset', 'yardstick ms', 'backbone', 'neck', 'head', 'post', 'total', 'vs torch 6.3 s'],
        inf.map((x) => {
          const f = YARDSTICK_IDLE_MS / x.yardstickMs;
          return [
            x.name,
            x.yardstickMs,
            x.medianMs.backbone * f,
            x.medianMs.neck * f,
            x.medianMs.head * f,
            x.medianMs.post * f,
            x.medianMs.total * f,
            `${((x.medianMs.total * f) / TORCH_REFERENCE_MS).toFixed(2)}×`,
          ];
        }),
      )}\n`,
  );
  process.stdout.write(
    `\nprocess CPU ms (all threads; on an otherwise idle machine wall ≈ CPU / threads for the threaded convolutions)\n` +
      `${table(
        ['backbone preset', 'backbone', 'neck', 'head', 'post', 'total'],
        inf.map((x) => [x.name, x.cpuMedianMs.backbone, x.cpuMedianMs.neck, x.cpuMedianMs.head, x.cpuMedianMs.post, x.cpuMedianMs.total]),
      )}\n`,
  );
  process.stdout.write(`load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')} (${availableParallelism()} cores)\n`);
  for (const x of inf) {
    process.stdout.write(
      `${x.name}: scores above score_thr per level (P3…P7): ${x.candidates.map((c) => `${c.above} → top ${c.kept}`).join(', ')}\n`,
    );
    if (x.profile) process.stdout.write(`\n${x.name}: kernels of one run\n${x.profile}\n`);
  }
  const trained = r.rows.filter((x) => x.train);
  if (trained.length) {
    process.stdout.write(
      `\nRetinaNet training iteration, batch 1, ${r.input[0]}×${r.input[1]} (loss + backward + SGD; stem + stage 1 and BN frozen); ` +
        `median of ${trained[0]!.train!.runsMs.length} after a warm-up\n` +
        `${table(
          ['backbone preset', 'wall s', 'CPU s', 'runs (s)'],
          trained.map((x) => [x.name, x.train!.medianMs / 1000, x.train!.cpuMedianMs / 1000, x.train!.runsMs.map((v) => (v / 1000).toFixed(1)).join(', ')]),
        )}\n`,
    );
  }
  writeJson(out, {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim(), node: process.versions.node, loadAverage: loadavg() },
    referenceMs: { torchvisionRetinanetResnet50FpnCpu: TORCH_REFERENCE_MS, target: 1.5 * TORCH_REFERENCE_MS, yardstickIdle: YARDSTICK_IDLE_MS },
    ...r,
  });
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
process.exit(0);
