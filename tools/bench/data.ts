/**
 * `npm run bench:data [-- --images 200 --workers 0,1,2 --steps 10 --no-masks --synthetic DIR]`: the data
 * pipeline's speed.
 *
 * 1. Throughput — images/s through the full training transform at 1333×800 (decode, keep-ratio resize, flip,
 *    normalise, pad to 32, masks, batch tensor creation on the main thread; batch 2, prefetch 2) with 0, 1 and 2
 *    worker threads, on (a) a folder of 640×480 JPEGs generated here (gradients + noise + rectangles, 2–6 objects
 *    each) and (b) the synthetic `small` set's train split (its first `--images`) when work_dirs/synthetic-small
 *    (or `--synthetic DIR`) exists (skipped with a
 *    message otherwise; `tiedet make-synthetic --preset small --out work_dirs/synthetic-small` makes it).
 * 2. Overlap — a real training step (the ResNet-18-style 2×256² step of `bench:engine`, both wasm threads) run
 *    once per batch while the loader prepares the next ones: the time each step waits for its batch says whether
 *    loading starves training on this machine. Real detection steps at 1333×800 are several times longer, so this
 *    is the pessimistic case.
 * Prints tables and writes work_dirs/bench/data.json. Timings on this shared 2-core machine are noisy.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { CocoDetectionDataset } from '../../data/coco-dataset.js';
import { DataLoader } from '../../data/loader.js';
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { argValue, repoRoot, table, writeJson } from './harness.js';
import { ResNet18 } from './resnet18.js';

const nImages = Number(argValue('images') ?? 200);
const workerCounts = (argValue('workers') ?? '0,1,2').split(',').map(Number);
const nSteps = Number(argValue('steps') ?? 10);
const withMasks = !process.argv.includes('--no-masks');
const synthDir = argValue('synthetic');
const log = (m: string) => process.stderr.write(`[bench:data] ${m}\n`);

/** A folder of `n` 640×480 JPEGs with 2–6 rectangles each and its COCO annotation file. */
async function makeJpegSet(dir: string, n: number): Promise<string> {
  const rng = new Rng('bench:data');
  const W = 640;
  const H = 480;
  const images = [];
  const annotations = [];
  let annId = 1;
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(W * H * 3);
    const [r0, g0, b0] = [rng.int(256), rng.int(256), rng.int(256)];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 3;
        const noise = rng.int(32);
        px[o] = (r0 + (x >> 2) + noise) & 255;
        px[o + 1] = (g0 + (y >> 2) + noise) & 255;
        px[o + 2] = (b0 + ((x + y) >> 3)) & 255;
      }
    }
    const objects = 2 + rng.int(5);
    for (let k = 0; k < objects; k++) {
      const w = 20 + rng.int(200);
      const h = 20 + rng.int(200);
      const x0 = rng.int(W - w);
      const y0 = rng.int(H - h);
      const c = [rng.int(256), rng.int(256), rng.int(256)];
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) px.set(c, (y * W + x) * 3);
      annotations.push({
        id: annId++,
        image_id: i + 1,
        category_id: 1 + rng.int(3),
        bbox: [x0, y0, w, h],
        area: w * h,
        iscrowd: 0,
        segmentation: [[x0, y0, x0 + w, y0, x0 + w, y0 + h, x0, y0 + h]],
      });
    }
    const file = `${String(i).padStart(4, '0')}.jpg`;
    await sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(dir, file));
    images.push({ id: i + 1, width: W, height: H, file_name: file });
  }
  const ann = join(dir, 'instances.json');
  const categories = [1, 2, 3].map((id) => ({ id, name: `c${id}` }));
  writeFileSync(ann, JSON.stringify({ images, annotations, categories }));
  return ann;
}

/** The first `n` images of a COCO file (and their annotations), written to `dest`. */
function subset(annFile: string, n: number, dest: string): string {
  const j = JSON.parse(readFileSync(annFile, 'utf8')) as { images: { id: number }[]; annotations: { image_id: number }[]; categories: unknown[] };
  const images = j.images.slice(0, n);
  const ids = new Set(images.map((im) => im.id));
  writeFileSync(dest, JSON.stringify({ images, categories: j.categories, annotations: j.annotations.filter((a) => ids.has(a.image_id)) }));
  return dest;
}

interface Throughput {
  dataset: string;
  workers: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
}

/** One full epoch (after warming the workers up), batches as tensors, disposed at once. */
async function throughput(name: string, ds: CocoDetectionDataset, workers: number): Promise<Throughput> {
  const loader = new DataLoader(ds, { batchSize: 2, workers, prefetch: 2, seed: 0, withMasks });
  try {
    let warm = 0;
    for await (const b of loader.batches(1)) {
      b.images.dispose();
      if (++warm === 2) break;
    }
    let images = 0;
    const t0 = performance.now();
    for await (const b of loader.batches(0)) {
      images += b.metas.length;
      b.images.dispose();
    }
    const seconds = (performance.now() - t0) / 1000;
    return { dataset: name, workers, images, seconds, imagesPerSecond: images / seconds };
  } finally {
    await loader.close();
  }
}

interface Overlap {
  dataset: string;
  workers: number;
  stepMs: number;
  waitMs: number;
  starvedPercent: number;
}

async function main(): Promise<void> {
  const engine = await initEngine();
  log(`backend ${engine.backend}, ${cpus().length} cores`);
  const tmp = mkdtempSync(join(tmpdir(), 'tiedet-bench-data-'));
  try {
    log(`writing ${nImages} 640×480 JPEGs to ${tmp}`);
    const jpegAnn = await makeJpegSet(tmp, nImages);
    const sets: { name: string; ds: CocoDetectionDataset }[] = [
      { name: `JPEG 640×480 (${nImages})`, ds: await CocoDetectionDataset.load(jpegAnn, { imageDir: tmp, withMasks }) },
    ];
    const synth = synthDir ?? join(repoRoot, 'work_dirs', 'synthetic-small');
    const synthAnn = join(synth, 'annotations', 'instances_train.json');
    let synthNote = '';
    if (existsSync(synthAnn)) {
      const sub = subset(synthAnn, nImages, join(tmp, 'synthetic-small.json'));
      const ds = await CocoDetectionDataset.load(sub, { imageDir: join(synth, 'train'), withMasks, minSize: 0 });
      const s0 = ds.samples[0];
      sets.push({ name: `synthetic small ${s0 ? `${s0.width}×${s0.height}` : ''} (${ds.samples.length})`, ds });
    } else {
      synthNote = `synthetic small skipped: ${synthAnn} not found (make it with: npx tiedet make-synthetic --preset small --out work_dirs/synthetic-small)`;
      log(synthNote);
    }

    const through: Throughput[] = [];
    for (const { name, ds } of sets) {
      for (const workers of workerCounts) {
        log(`throughput: ${name}, ${workers} workers`);
        through.push(await throughput(name, ds, workers));
      }
    }
    console.log(`\nFull training transform at 1333×800 (batch 2, prefetch 2, masks ${withMasks ? 'on' : 'off'}): images per second\n`);
    console.log(
      table(
        ['dataset', 'workers', 'images', 'seconds', 'images/s', 'ms/image'],
        through.map((t) => [t.dataset, String(t.workers), String(t.images), t.seconds, t.imagesPerSecond, 1000 / t.imagesPerSecond]),
      ),
    );
    if (synthNote) console.log(`\n${synthNote}`);

    // ---- overlap with a real training step
    const model = new ResNet18(new Rng(7), 10);
    model.train();
    const sgd = new SGD(model.namedParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const x = tf.randomNormal([2, 256, 256, 3]) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([3, 8], 'int32'), 10);
    const step = async (): Promise<void> => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar, model.trainableVariables());
      sgd.step(grads);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    await step();
    await step();
    const alone: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await step();
      alone.push(performance.now() - t0);
    }
    const stepAloneMs = alone.sort((a, b) => a - b)[2]!;
    log(`training step alone: ${stepAloneMs.toFixed(0)} ms`);
    const overlap: Overlap[] = [];
    const { name, ds } = sets[0]!;
    for (const workers of workerCounts) {
      log(`overlap: ${name}, ${workers} workers, ${nSteps} steps`);
      const loader = new DataLoader(ds, { batchSize: 2, workers, prefetch: 2, seed: 0, withMasks });
      let wait = 0;
      let stepTime = 0;
      let steps = 0;
      const it = loader.batches(0)[Symbol.asyncIterator]();
      try {
        const first = await it.next(); // pipeline start-up (worker spawn) is not a steady-state wait
        if (!first.done) first.value.images.dispose();
        while (steps < nSteps) {
          const t0 = performance.now();
          const r = await it.next();
          if (r.done) break;
          const t1 = performance.now();
          r.value.images.dispose();
          await step();
          wait += t1 - t0;
          stepTime += performance.now() - t1;
          steps++;
        }
      } finally {
        await it.return?.(undefined);
        await loader.close();
      }
      const waitMs = wait / Math.max(1, steps);
      const stepMs = stepTime / Math.max(1, steps);
      overlap.push({ dataset: name, workers, stepMs, waitMs, starvedPercent: (100 * waitMs) / (waitMs + stepMs) });
    }
    tf.dispose([x, labels]);
    console.log(`\nWhile training: ResNet-18 2×256² step (${stepAloneMs.toFixed(0)} ms alone) per batch of 2 from ${name}\n`);
    console.log(
      table(
        ['workers', 'step ms (with loading)', 'wait for batch ms', 'time starved %'],
        overlap.map((o) => [String(o.workers), o.stepMs, o.waitMs, o.starvedPercent]),
      ),
    );
    const best = overlap.reduce((a, b) => (b.starvedPercent < a.starvedPercent ? b : a));
    const bestTp = Math.max(...through.filter((t) => t.dataset === name).map((t) => t.imagesPerSecond));
    const needed = 2000 / stepAloneMs;
    const verdict =
      best.starvedPercent < 5
        ? `loading does not starve training: with ${best.workers} worker(s) a step waits ${best.waitMs.toFixed(0)} ms for its batch (${best.starvedPercent.toFixed(1)} %)`
        : `loading CAN starve training: even with ${best.workers} worker(s) a step waits ${best.waitMs.toFixed(0)} ms for its batch (${best.starvedPercent.toFixed(1)} %)`;
    console.log(
      `\nA step consumes ${needed.toFixed(2)} images/s; the loader alone delivers up to ${bestTp.toFixed(2)} images/s. ${verdict}.` +
        ' A detection step at 1333×800 (ResNet-50 forward alone ≈ 3 s per image here) needs far fewer images/s.',
    );
    const out = join(repoRoot, 'work_dirs', 'bench', 'data.json');
    mkdirSync(join(repoRoot, 'work_dirs', 'bench'), { recursive: true });
    writeJson(out, {
      backend: engine.backend,
      cores: cpus().length,
      scale: [1333, 800],
      batchSize: 2,
      prefetch: 2,
      masks: withMasks,
      throughput: through,
      synthetic: synthNote || 'measured',
      trainingStep: { model: 'ResNet-18 2×256² (bench:engine)', aloneMs: stepAloneMs, overlap, verdict },
    });
    console.log(`\nwrote ${out}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
