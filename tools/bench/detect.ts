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
 * Options: --presets resnet50,tiedResNet50 (and any backbone preset name), --input 800x1333, --repeats 3,
 * --threads N (default: all cores), --backend wasm, --profile (per-kernel table of one full run),
 * --out work_dirs/bench/detect.json. Runs in a child process (wasm threads are fixed per process).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import type { RetinaHeadOutput } from '../../detectors/retinanet/head.js';
import { topKAboveThreshold } from '../../detectors/retinanet/postprocess.js';
import { initEngine, type BackendName } from '../../src/engine/index.js';
import { loadPresets, parseInput, selectPresets } from '../params.js';
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

async function child(): Promise<{ backend: string; threads: number; input: [number, number]; padded: [number, number]; rows: Row[] }> {
  const info = await initEngine({ backend: (argValue('backend') ?? 'wasm') as BackendName, threads: Number(argValue('threads') ?? availableParallelism()) });
  const [h, w] = parseInput(argValue('input') ?? '800x1333');
  const [ph, pw] = [Math.ceil(h / 32) * 32, Math.ceil(w / 32) * 32];
  const repeats = Math.max(1, Number(argValue('repeats') ?? 3));
  const presets = await loadPresets();
  const rows: Row[] = [];
  for (const entry of selectPresets(argValue('presets') ?? 'resnet50,tiedResNet50')) {
    process.stderr.write(`  [${info.backend} ×${info.threads}] ${entry.name}\n`);
    // zeroInitResidual: random residual branches would blow activations up stage by stage (TiedResNet-50's C5 reaches
    // ~1e8 at random init, the head then overflows); starting each block at its identity keeps them O(1) as in a
    // trained network. The amount of computation is the same.
    const model = new RetinaNet({ backbone: entry.pick(presets)({ seed: 1, numClasses: null, zeroInitResidual: true }), seed: 2 });
    model.eval();
    const x = tf.randomUniform([1, ph, pw, 3], -2, 2, 'float32', 3) as tf.Tensor4D;
    const meta: ImageMeta = {
      imageId: 1,
      file: 'random',
      originalSize: { width: w, height: h },
      resizedSize: { width: w, height: h },
      padSize: { width: pw, height: ph },
      scaleFactor: [1, 1],
      flipped: false,
    };
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
  if (process.argv.includes('--profile')) pass.push('--profile', '1');
  const r = runChild<Awaited<ReturnType<typeof child>>>(SCRIPT, ['--child', '1', ...pass]);
  const out = argValue('out') ?? `${repoRoot}/work_dirs/bench/detect.json`;
  process.stdout.write(
    `\nRetinaNet inference, 1 image ${r.input[0]}×${r.input[1]} (padded ${r.padded[0]}×${r.padded[1]}), ${r.backend} ×${r.threads} threads; ` +
      `median ms of ${r.rows[0]?.runsMs.total.length ?? 0} runs after a warm-up\n`,
  );
  process.stdout.write(
    `${table(
      ['backbone preset', 'backbone', 'neck', 'head', 'post', 'total', 'vs torch 6.3 s', 'detections'],
      r.rows.map((x) => [
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
        r.rows.map((x) => {
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
        r.rows.map((x) => [x.name, x.cpuMedianMs.backbone, x.cpuMedianMs.neck, x.cpuMedianMs.head, x.cpuMedianMs.post, x.cpuMedianMs.total]),
      )}\n`,
  );
  process.stdout.write(`load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')} (${availableParallelism()} cores)\n`);
  for (const x of r.rows) {
    process.stdout.write(
      `${x.name}: scores above score_thr per level (P3…P7): ${x.candidates.map((c) => `${c.above} → top ${c.kept}`).join(', ')}\n`,
    );
    if (x.profile) process.stdout.write(`\n${x.name}: kernels of one run\n${x.profile}\n`);
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
