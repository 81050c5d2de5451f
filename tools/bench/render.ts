/**
 * `npm run bench:render` — throughput of `tiedet render` (tools/render/) at 640×480 with 20 instances per image.
 *
 * A seeded generator (src/nn/rng.ts) writes to a temporary folder N JPEG images (quality 90, a gradient with
 * noise, like a photo for the codecs), a ground-truth file with 20 polygon instances per image (random star-shaped
 * polygons over 10 categories) and a results file with 20 detections per image (compressed-RLE masks of perturbed
 * polygons, `bbox`, scores in [0.5, 1) — all drawn at the default threshold 0.5). Then it times:
 *  - the whole command logic (`renderResults`: load, per-image AP, read, draw, write, gallery) for PNG, JPEG and
 *    PNG side-by-side output, as images per second (target ≥ 10);
 *  - the stages alone, per image: read (sharp decode), draw (`drawInstances`, 20 masks + contours + boxes + labels),
 *    encode PNG, encode JPEG.
 * Prints a table and writes work_dirs/bench/render.json. Options: --images N (default 40), --seed K (default 1),
 * --out FILE, --keep (keep the generated folder and the rendered images, and print where they are).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, writeImage, type RgbImage } from '../../data/image.js';
import { CocoDataset } from '../../eval/coco.js';
import { frPoly } from '../../src/structures/rle-polygon.js';
import { rleToString } from '../../src/structures/rle-string.js';
import { toBbox } from '../../src/structures/rle.js';
import { Rng } from '../../src/nn/rng.js';
import { categoryColor, drawInstances, PREDICTION_STYLE, type Instance } from '../render/draw.js';
import { renderResults } from '../render/render.js';
import { argValue, repoRoot, table, time, writeJson } from './harness.js';

const W = 640;
const H = 480;
const PER_IMAGE = 20;
const CATEGORIES = 10;

function starPolygon(rng: Rng, cx: number, cy: number, r: number): number[] {
  const k = 6 + Math.floor(rng.uniform() * 10);
  const poly: number[] = [];
  for (let i = 0; i < k; i++) {
    const a = (2 * Math.PI * i) / k;
    const rr = r * (0.55 + 0.45 * rng.uniform());
    poly.push(Math.min(W, Math.max(0, cx + rr * Math.cos(a))), Math.min(H, Math.max(0, cy + rr * Math.sin(a))));
  }
  return poly.map((v) => Math.round(v * 100) / 100);
}

function photoLike(rng: Rng): RgbImage {
  const data = new Uint8Array(W * H * 3);
  const [a, b, c] = [rng.uniform() * 255, rng.uniform() * 255, rng.uniform() * 255];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = (y * W + x) * 3;
      const n = (rng.nextUint32() & 31) - 16;
      data[p] = Math.max(0, Math.min(255, a + (x / W) * 100 + n));
      data[p + 1] = Math.max(0, Math.min(255, b + (y / H) * 100 + n));
      data[p + 2] = Math.max(0, Math.min(255, c - (x / W) * 60 + n));
    }
  }
  return { data, width: W, height: H };
}

async function generate(dir: string, n: number, seed: number): Promise<{ gt: string; results: string; images: string }> {
  const rng = new Rng(seed);
  const images: unknown[] = [];
  const anns: unknown[] = [];
  const dets: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const id = i + 1;
    const fileName = `img_${String(id).padStart(4, '0')}.jpg`;
    images.push({ id, file_name: fileName, width: W, height: H });
    await writeImage(join(dir, 'images', fileName), photoLike(rng), { format: 'jpeg', quality: 90 });
    for (let k = 0; k < PER_IMAGE; k++) {
      const cx = 40 + rng.uniform() * (W - 80);
      const cy = 40 + rng.uniform() * (H - 80);
      const r = 15 + rng.uniform() * 90;
      const cat = 1 + Math.floor(rng.uniform() * CATEGORIES);
      const poly = starPolygon(rng, cx, cy, r);
      const gtRle = frPoly(poly, H, W);
      const bb = toBbox(gtRle);
      anns.push({ id: anns.length + 1, image_id: id, category_id: cat, segmentation: [poly], bbox: bb, area: bb[2] * bb[3], iscrowd: 0 });
      const det = frPoly(starPolygon(rng, cx + (rng.uniform() - 0.5) * 10, cy + (rng.uniform() - 0.5) * 10, r), H, W);
      dets.push({
        image_id: id,
        category_id: cat,
        bbox: toBbox(det),
        score: Math.round((0.5 + 0.5 * rng.uniform()) * 1e4) / 1e4,
        segmentation: { size: [H, W], counts: rleToString(det) },
      });
    }
  }
  const categories = Array.from({ length: CATEGORIES }, (_, k) => ({ id: k + 1, name: `shape${k + 1}` }));
  const gt = join(dir, 'gt.json');
  const results = join(dir, 'results.json');
  writeFileSync(gt, JSON.stringify({ images, categories, annotations: anns }));
  writeFileSync(results, JSON.stringify(dets));
  return { gt, results, images: join(dir, 'images') };
}

async function main(): Promise<void> {
  const n = Number(argValue('images') ?? 40);
  const seed = Number(argValue('seed') ?? 1);
  const outJson = argValue('out') ?? join(repoRoot, 'work_dirs/bench/render.json');
  const dir = mkdtempSync(join(tmpdir(), 'tiedet-bench-render-'));
  try {
    process.stderr.write(`generating ${n} images of ${W}×${H} with ${PER_IMAGE} instances each in ${dir}\n`);
    const data = await generate(dir, n, seed);

    const modes = [
      { name: 'render png', format: 'png' as const, sideBySide: false },
      { name: 'render jpeg', format: 'jpeg' as const, sideBySide: false },
      { name: 'render png side-by-side', format: 'png' as const, sideBySide: true },
    ];
    const runs: { mode: string; totalS: number; loopS: number; imagesPerS: number; loopImagesPerS: number }[] = [];
    for (const m of modes) {
      const out = join(dir, `out-${m.format}-${m.sideBySide ? 'sbs' : 'single'}`);
      const t0 = performance.now();
      const s = await renderResults({ ...data, out, format: m.format, sideBySide: m.sideBySide, progressEvery: 0 });
      const totalS = (performance.now() - t0) / 1000;
      if (s.rendered !== n) throw new Error(`${m.name}: rendered ${s.rendered} of ${n}`);
      runs.push({ mode: m.name, totalS, loopS: s.seconds, imagesPerS: n / totalS, loopImagesPerS: n / s.seconds });
      process.stderr.write(`${m.name}: ${(n / totalS).toFixed(1)} images/s\n`);
    }

    // Stages alone, on the first image and its detections.
    const gt = CocoDataset.fromFile(data.gt);
    const dt = gt.loadRes(data.results);
    const file = join(data.images, 'img_0001.jpg');
    const img = await readImage(file);
    const instances: Instance[] = dt.annsByImage(1).map((a) => ({
      color: categoryColor(a.category_id),
      box: a.bbox,
      mask: dt.rle(a),
      label: `shape${a.category_id} ${a.score!.toFixed(2)}`,
    }));
    const reps = 10;
    const drawn = drawInstances(img, instances, PREDICTION_STYLE).image;
    const stages = [
      { stage: 'read (decode JPEG)', t: await time(async () => void (await readImage(file)), reps) },
      { stage: `draw (${PER_IMAGE} instances)`, t: await time(() => void drawInstances(img, instances, PREDICTION_STYLE), reps) },
      { stage: 'encode + write PNG', t: await time(() => writeImage(join(dir, 'stage.png'), drawn, { format: 'png' }), reps) },
      { stage: 'encode + write JPEG', t: await time(() => writeImage(join(dir, 'stage.jpg'), drawn, { format: 'jpeg' }), reps) },
    ];

    const load = loadavg()[0]!;
    console.log(`\ntiedet render, ${n} images ${W}×${H}, ${PER_IMAGE} instances each (target ≥ 10 images/s)`);
    console.log(`${availableParallelism()} logical cores, load average ${load.toFixed(1)} (other processes share the machine when it exceeds the core count)\n`);
    console.log(table(['mode', 'total s', 'images/s', 'image loop images/s'], runs.map((r) => [r.mode, r.totalS, r.imagesPerS, r.loopImagesPerS])));
    console.log();
    console.log(table(['stage (one image)', 'median ms', 'min ms'], stages.map((s) => [s.stage, s.t.medianMs, s.t.minMs])));
    writeJson(outJson, {
      images: n,
      size: [W, H],
      instancesPerImage: PER_IMAGE,
      seed,
      cores: availableParallelism(),
      loadAverage1m: load,
      runs,
      stages: stages.map((s) => ({ stage: s.stage, medianMs: s.t.medianMs, minMs: s.t.minMs })),
    });
    console.log(`\nwrote ${outJson}`);
  } finally {
    if (process.argv.includes('--keep')) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
