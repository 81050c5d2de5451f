/**
 * `npm run bench:detect` — per-image inference time of RetinaNet (backbone + FPN P3–P7 + RetinaHead + post-processing,
 * mmdetection's test settings: 80 classes, nms_pre 1000, score_thr 0.05, NMS 0.5, 100 per image) with ResNet-50 and
 * TiedResNet-50 backbones at 800×1333 (padded to 800×1344 as mmdetection / torchvision pad to 32), split into
 * backbone / neck / head / post-processing (each part awaits its output before the next starts), median of
 * `--repeats` runs after one warm-up. Reference, in the same run (issue 23): torchvision `retinanet_resnet50_fpn`
 * on the same input with the same thread count, split alike (tools/reference/torch_bench.py `retinanet`), one
 * PyTorch run after each tiedet run (tools/bench/reference.ts) — "reference not measured" without a python3 with
 * torch + torchvision.
 *
 * Random weights (backbones with `zeroInitResidual`, so activations stay O(1) as in a trained network), realistic
 * post-processing load: after the warm-up the classification bias is set so that at least 5 % of the (anchor, class)
 * scores of every level exceed score_thr (P3 then has millions of candidates: a heavy case), so every level hands
 * its top-k ≥ 1000 candidates (P7 at 800×1344 has 7·11·9·80 = 55,440 scores) to decoding and NMS. The
 * candidate counts are printed.
 *
 * Besides wall time the script prints process CPU time per part and the load average; ratios to PyTorch come only
 * from the alternated pairs of this run (this VM's speed drifts by ±30–50 % between days).
 *
 * `--train-step` also times training iterations (issue #9): batch 1 at the same size, the COCO config's model state
 * (stem + stage 1 frozen, BN frozen: the presets' defaults; backbone activation checkpointing as the COCO configs,
 * `--no-cp` without), four GT boxes, loss + gradients + SGD update
 * (momentum 0.9, wd 1e-4), median of `--train-repeats` (default 2) after one warm-up iteration; alternated with
 * torchvision's RetinaNet training step built as torchvision builds it on a pretrained backbone (FrozenBatchNorm2d,
 * stem + layer1 frozen), same size, the same four boxes, SGD alike (torch_bench.py `retinanet-train`).
 *
 * Options: --presets resnet50,tiedResNet50 (and any backbone preset name), --input 800x1333, --repeats 3,
 * --threads N (default: all cores), --backend wasm, --profile (per-kernel table of one full run and of one training
 * iteration), --train-step,
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
import { backendMemory } from '../../src/engine/kernels/heap-wasm.js';
import { argValue, repoRoot, runChild, table, writeJson } from './harness.js';
import { median, startReference, type Reference, type ReferenceRun, type ReferenceTask } from './reference.js';

const SCRIPT = fileURLToPath(import.meta.url);
const PARTS = ['backbone', 'neck', 'head', 'post'] as const;
type Part = (typeof PARTS)[number];
/** The reference side of a row: PyTorch's medians per part and total, and the ratio tiedet / PyTorch per pair. */
interface RefSide {
  medianMs: Record<string, number>;
  runsMs: number[];
  ratio: number;
  spread: [number, number];
}

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
  /** torchvision's RetinaNet on the same input, alternated with tiedet's runs (null: not measured). */
  reference: RefSide | null;
  profile?: string;
  /** Training iteration (batch 1): wall and process CPU ms per run, and torchvision's step alternated with it. */
  train?: { runsMs: number[]; cpuRunsMs: number[]; medianMs: number; cpuMedianMs: number; losses: Record<string, number>; reference: RefSide | null; profile?: string; withCp: boolean; wasmHeapGiB: number | null };
}

/** PyTorch's side of the alternated pairs. */
function refSide(mine: number[], theirs: ReferenceRun[]): RefSide | null {
  if (!theirs.length) return null;
  const parts = Object.keys(theirs[0]!.parts);
  const ratios = mine.map((m, i) => m / theirs[i]!.ms);
  const total = theirs.map((r) => r.ms);
  return {
    medianMs: { ...Object.fromEntries(parts.map((p) => [p, median(theirs.map((r) => r.parts[p]!))])), total: median(total) },
    runsMs: total,
    ratio: median(mine) / median(total),
    spread: [Math.min(...ratios), Math.max(...ratios)],
  };
}

/** The running reference, or why there is none (printed once). */
async function reference(task: ReferenceTask, input: [number, number], threads: number): Promise<Reference | null> {
  const r = await startReference(task, input, threads);
  if ('missing' in r) {
    process.stderr.write(`  PyTorch reference not measured: ${r.missing}\n`);
    return null;
  }
  process.stderr.write(`  PyTorch reference: torch ${r.info.torch}, torchvision ${r.info.torchvision}, ${r.info.threads} thread(s) (${r.info.python})\n`);
  return r;
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
  ref: Reference | null,
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
    const refRuns: ReferenceRun[] = [];
    for (let r = 0; r < repeats; r++) {
      const [ms, c] = await step();
      runsMs.push(ms);
      cpuRunsMs.push(c);
      if (ref) refRuns.push(await ref.run());
      process.stderr.write(`    step ${r + 1}/${repeats}: ${(ms / 1000).toFixed(1)} s${ref ? `, PyTorch ${(refRuns[r]!.ms / 1000).toFixed(1)} s` : ''}\n`);
    }
    const profile = argValue('profile') !== undefined ? (await profileKernels(async () => void (await step()))).table : undefined;
    const heap = backendMemory(); // the wasm heap only grows: its size now is the peak of the steps
    const wasmHeapGiB = heap ? heap.buffer.byteLength / 2 ** 30 : null;
    return { runsMs, cpuRunsMs, medianMs: median(runsMs), cpuMedianMs: median(cpuRunsMs), losses, reference: refSide(runsMs, refRuns), profile, withCp, wasmHeapGiB };
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
  const inferenceRef = argValue('no-inference') !== undefined ? null : await reference('retinanet', [h, w], info.threads);
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
    const refRuns: ReferenceRun[] = [];
    for (let r = 0; r < repeats; r++) {
      await run(true);
      if (inferenceRef) refRuns.push(await inferenceRef.run());
      const last = runsMs.total[r]!;
      process.stderr.write(`    run ${r + 1}/${repeats}: ${(last / 1000).toFixed(2)} s${inferenceRef ? `, PyTorch ${(refRuns[r]!.ms / 1000).toFixed(2)} s` : ''}\n`);
    }
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
      reference: refSide(runsMs.total, refRuns),
    };
    if (argValue('profile') !== undefined) row.profile = (await profileKernels(() => run(false))).table;
    rows.push(row);
    x.dispose();
    model.dispose();
  }
  inferenceRef?.close();
  if (argValue('train-step') !== undefined) {
    const trainRepeats = Math.max(1, Number(argValue('train-repeats') ?? 2));
    const trainRef = await reference('retinanet-train', [h, w], info.threads);
    for (const entry of selectPresets(argValue('presets') ?? 'resnet50,tiedResNet50')) {
      process.stderr.write(`  [${info.backend} ×${info.threads}] ${entry.name}: training iteration at ${h}×${w}\n`);
      let row = rows.find((r) => r.name === entry.name);
      if (!row) {
        row = { name: entry.name, runsMs: { backbone: [], neck: [], head: [], post: [], total: [] }, medianMs: { backbone: NaN, neck: NaN, head: NaN, post: NaN, total: NaN }, cpuRunsMs: { backbone: [], neck: [], head: [], post: [], total: [] }, cpuMedianMs: { backbone: NaN, neck: NaN, head: NaN, post: NaN, total: NaN }, candidates: [], detections: 0, reference: null };
        rows.push(row);
      }
      row.train = await trainIteration(entry.pick(presets), h, w, trainRepeats, argValue('no-cp') === undefined, trainRef);
    }
    trainRef?.close();
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
  const ratio = (a: number, b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? '–' : `${(a / b).toFixed(2)}×`);
  const anyRef = inf.some((x) => x.reference);
  process.stdout.write(
    `${table(
      ['backbone preset', 'backbone', 'neck', 'head', 'post', 'total', 'detections'],
      inf.map((x) => [x.name, x.medianMs.backbone, x.medianMs.neck, x.medianMs.head, x.medianMs.post, x.medianMs.total, String(x.detections)]),
    )}\n`,
  );
  if (anyRef) {
    process.stdout.write(
      `\nside by side with torchvision retinanet_resnet50_fpn (PyTorch, same input and threads, one PyTorch run after each tiedet run): ` +
        `PyTorch median ms, and tiedet / PyTorch\n` +
        `${table(
          ['backbone preset', 'PyTorch backbone', 'neck', 'head', 'post', 'total', 'ratio backbone', 'neck', 'head', 'post', 'total (pair min–max)'],
          inf.map((x) => {
            const r = x.reference?.medianMs ?? {};
            return [
              x.name,
              r.backbone ?? NaN,
              r.neck ?? NaN,
              r.head ?? NaN,
              r.post ?? NaN,
              r.total ?? NaN,
              ratio(x.medianMs.backbone, r.backbone),
              ratio(x.medianMs.neck, r.neck),
              ratio(x.medianMs.head, r.head),
              ratio(x.medianMs.post, r.post),
              x.reference ? `${x.reference.ratio.toFixed(2)}× (${x.reference.spread[0].toFixed(2)}–${x.reference.spread[1].toFixed(2)})` : '–',
            ];
          }),
        )}\n`,
    );
  } else if (inf.length) process.stdout.write('PyTorch reference not measured (no python3 with torch + torchvision): no ratio\n');
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
        `median of ${trained[0]!.train!.runsMs.length} after a warm-up, alternated with torchvision's step\n` +
        `${table(
          ['backbone preset', 'withCp', 'wasm heap GiB', 'wall s', 'CPU s', 'runs (s)', 'PyTorch s', 'PyTorch runs (s)', 'ratio (pair min–max)'],
          trained.map((x) => {
            const ref = x.train!.reference;
            return [
              x.name,
              x.train!.withCp ? 'yes' : 'no',
              x.train!.wasmHeapGiB === null ? '–' : x.train!.wasmHeapGiB.toFixed(2),
              x.train!.medianMs / 1000,
              x.train!.cpuMedianMs / 1000,
              x.train!.runsMs.map((v) => (v / 1000).toFixed(1)).join(', '),
              ref ? ref.medianMs.total! / 1000 : NaN,
              ref ? ref.runsMs.map((v) => (v / 1000).toFixed(1)).join(', ') : 'not measured',
              ref ? `${ref.ratio.toFixed(2)}× (${ref.spread[0].toFixed(2)}–${ref.spread[1].toFixed(2)})` : '–',
            ];
          }),
        )}\n`,
    );
  }
  for (const x of trained) if (x.train!.profile) process.stdout.write(`\n${x.name}: kernels of one training iteration\n${x.train!.profile}\n`);
  writeJson(out, {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim(), node: process.versions.node, loadAverage: loadavg() },
    reference: 'torchvision retinanet_resnet50_fpn in the same run (rows[].reference, rows[].train.reference); null: not measured',
    ...r,
  });
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
process.exit(0);
