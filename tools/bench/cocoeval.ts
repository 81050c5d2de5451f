/**
 * `npm run bench:cocoeval` — COCO evaluation (eval/cocoeval.ts) on a COCO-val-scale case.
 *
 * A seeded generator (src/nn/rng.ts) writes, once, to work_dirs/bench/cocoeval/:
 *  - gt.json: N images of COCO-like sizes (640×480, 480×640, 640×427, …), ≈7.2 objects per image (≈36 000 at
 *    N = 5000) over the 80 COCO category ids (skewed like COCO: low ids frequent), mostly random star / convex
 *    polygons with COCO's size mix (≈41 % small, 34 % medium, 25 % large; `area` = polygon area), ≈1 % crowd
 *    regions as uncompressed RLE;
 *  - bbox.json / segm.json: exactly 100 detections per image — perturbed copies of the GT objects (sometimes a
 *    wrong category, sometimes a duplicate), a few hits inside crowd regions, the rest random boxes / blobs with low
 *    scores; scores rounded to 4 decimals, so ties occur. bbox.json has boxes, segm.json compressed-RLE masks (no
 *    bbox: pycocotools' mask branch, area and box from the mask).
 * Then, per IoU type, a child process times CocoDataset.fromFile (GT), loadRes, evaluate, accumulate, summarize
 * and reports its peak RSS (process.resourceUsage().maxRSS). Prints a table, writes work_dirs/bench/cocoeval.json.
 *
 * Options: --images 5000, --seed 1, --iou bbox,segm, --regen (rewrite the data even if it exists),
 * --pycocotools PYTHON (also run pycocotools on the same files with that interpreter — pycocotools must be
 * importable, see tools/fixtures/cocoeval_reference.py — and compare the 12 stats), --out work_dirs/bench/cocoeval.json.
 *
 * Without --pycocotools the speed-up column compares with the pycocotools figures of the issue for 5000 images
 * (evaluate + accumulate ≈ 125 s bbox, ≈ 110 s segm, ≈ 2.3 GB peak).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval, type IouType } from '../../eval/cocoeval.js';
import { frPoly } from '../../src/structures/rle-polygon.js';
import { rleToString } from '../../src/structures/rle-string.js';
import { Rng } from '../../src/nn/rng.js';
import { argValue, repoRoot, runChild, table, writeJson } from './harness.js';

const SCRIPT = fileURLToPath(import.meta.url);
const GENERATOR_VERSION = 1;

/** pycocotools 2.0.11 on the 5000-image case, evaluate + accumulate, as reported in the issue. */
const ISSUE_REFERENCE = { bbox: { evalAccS: 125, peakRssMB: 2300 }, segm: { evalAccS: 110, peakRssMB: 2300 } } as const;

const COCO_CAT_IDS = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35,
  36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65,
  67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
];
const IMAGE_SIZES: [number, number][] = [
  [640, 480], [480, 640], [640, 427], [427, 640], [640, 426], [640, 424], [500, 375], [375, 500], [640, 360],
  [612, 612], [640, 640], [640, 512],
];

// ---------------------------------------------------------------------------------------------------------------
// data generation

interface Obj {
  /** polygon [x0, y0, x1, y1, …] in pixels */
  poly: number[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function catIndex(rng: Rng): number {
  return Math.min(79, Math.floor(80 * rng.uniform() ** 2.2));
}

/** A random star or convex polygon with bounding radii (rx, ry) around (cx, cy), clipped to the image. */
function polygon(rng: Rng, cx: number, cy: number, rx: number, ry: number, W: number, H: number, star: boolean): number[] {
  const n = 6 + rng.int(star ? 20 : 14);
  const ang: number[] = [];
  for (let i = 0; i < n; i++) ang.push(rng.uniform() * 2 * Math.PI);
  ang.sort((a, b) => a - b);
  const rot = rng.uniform() * 2 * Math.PI;
  const pts: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = star ? (i % 2 === 0 ? 1 : 0.35 + 0.4 * rng.uniform()) : 0.8 + 0.2 * rng.uniform();
    const a = ang[i]! + rot;
    const x = Math.min(W - 0.01, Math.max(0, cx + Math.cos(a) * rx * f));
    const y = Math.min(H - 0.01, Math.max(0, cy + Math.sin(a) * ry * f));
    pts.push(r2(x), r2(y));
  }
  return pts;
}

function polyArea(p: number[]): number {
  let s = 0;
  const n = p.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    s += p[2 * i]! * p[2 * j + 1]! - p[2 * j]! * p[2 * i + 1]!;
  }
  return Math.abs(s) / 2;
}

function polyBox(p: number[]): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < p.length; i += 2) {
    x0 = Math.min(x0, p[i]!);
    x1 = Math.max(x1, p[i]!);
    y0 = Math.min(y0, p[i + 1]!);
    y1 = Math.max(y1, p[i + 1]!);
  }
  return [r2(x0), r2(y0), r2(x1 - x0), r2(y1 - y0)];
}

/** Object radii for an area drawn from COCO's size mix (small / medium / large), aspect ratio 0.4 … 2.5. */
function objectRadii(rng: Rng, W: number, H: number): [number, number] {
  const u = rng.uniform();
  const [lo, hi] = u < 0.41 ? [20, 1024] : u < 0.75 ? [1024, 9216] : [9216, Math.min(0.55 * W * H, 150_000)];
  const area = Math.exp(Math.log(lo) + rng.uniform() * (Math.log(hi) - Math.log(lo)));
  const ar = Math.exp((rng.uniform() * 2 - 1) * Math.log(2.5));
  // a star/convex polygon covers roughly 0.55 of its bounding ellipse's box
  const w = Math.sqrt((area / 0.55) * ar);
  const h = Math.sqrt(area / 0.55 / ar);
  return [Math.min(w, W) / 2, Math.min(h, H) / 2];
}

/** Column-major uncompressed RLE counts of an axis-aligned ellipse (a crowd region). */
function ellipseRle(cx: number, cy: number, rx: number, ry: number, W: number, H: number): { counts: number[]; area: number; bbox: [number, number, number, number] } {
  const counts: number[] = [];
  let pos = 0; // pixels emitted so far
  let area = 0;
  let x0 = W;
  let x1 = -1;
  let y0 = H;
  let y1 = -1;
  for (let x = 0; x < W; x++) {
    const dx = (x + 0.5 - cx) / rx;
    if (Math.abs(dx) >= 1) continue;
    const half = ry * Math.sqrt(1 - dx * dx);
    const ya = Math.max(0, Math.ceil(cy - half - 0.5));
    const yb = Math.min(H, Math.floor(cy + half - 0.5) + 1);
    if (yb <= ya) continue;
    const start = x * H + ya;
    counts.push(start - pos, yb - ya);
    pos = start + (yb - ya);
    area += yb - ya;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, ya);
    y1 = Math.max(y1, yb - 1);
  }
  counts.push(W * H - pos);
  // merge zero-length background runs between adjacent columns' foreground runs
  const merged: number[] = [counts[0]!];
  for (let i = 1; i < counts.length; i++) {
    if (i % 2 === 0 && counts[i] === 0 && i + 1 < counts.length) {
      merged[merged.length - 1]! += counts[i + 1]!;
      i++;
    } else {
      merged.push(counts[i]!);
    }
  }
  return { counts: merged, area, bbox: [x0, y0, x1 - x0 + 1, y1 - y0 + 1] };
}

class JsonArrayWriter {
  private fd: number;
  private first = true;
  private buf: string[] = [];
  private size = 0;
  constructor(path: string, head: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, head);
  }
  push(obj: unknown): void {
    const s = (this.first ? '' : ',\n') + JSON.stringify(obj);
    this.first = false;
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 22) this.flush();
  }
  flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  close(tail: string): void {
    this.flush();
    writeSync(this.fd, tail);
    closeSync(this.fd);
  }
}

export interface Meta {
  version: number;
  images: number;
  seed: number;
  gtAnnotations: number;
  crowd: number;
  detections: number;
  small: number;
  medium: number;
  large: number;
}

function generate(dir: string, nImages: number, seed: number): Meta {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const images: { id: number; width: number; height: number; file_name: string }[] = [];
  for (let i = 0; i < nImages; i++) {
    const [width, height] = IMAGE_SIZES[rng.int(IMAGE_SIZES.length)]!;
    const id = 100_000 + i * 13;
    images.push({ id, width, height, file_name: `${String(id).padStart(12, '0')}.jpg` });
  }
  const categories = COCO_CAT_IDS.map((id) => ({ id, name: `class_${id}`, supercategory: 'thing' }));

  const gtW = new JsonArrayWriter(
    join(dir, 'gt.json'),
    `{"info":{"description":"tiedet bench:cocoeval synthetic COCO-val-scale case","seed":${seed}},` +
      `"images":${JSON.stringify(images)},"categories":${JSON.stringify(categories)},"annotations":[\n`,
  );
  const bboxW = new JsonArrayWriter(join(dir, 'bbox.json'), '[\n');
  const segmW = new JsonArrayWriter(join(dir, 'segm.json'), '[\n');
  const meta: Meta = { version: GENERATOR_VERSION, images: nImages, seed, gtAnnotations: 0, crowd: 0, detections: 0, small: 0, medium: 0, large: 0 };
  let annId = 1;
  for (const img of images) {
    const W = img.width;
    const H = img.height;
    const nGt = 1 + Math.floor(rng.uniform() * 13.4);
    const dets: { cat: number; poly: number[]; score: number }[] = [];
    for (let g = 0; g < nGt; g++) {
      const k = catIndex(rng);
      const catId = COCO_CAT_IDS[k]!;
      if (rng.uniform() < 0.01) {
        // crowd region: a large ellipse as uncompressed RLE
        const rx = 40 + rng.uniform() * (W / 3);
        const ry = 40 + rng.uniform() * (H / 3);
        const cx = rx / 2 + rng.uniform() * (W - rx);
        const cy = ry / 2 + rng.uniform() * (H - ry);
        const e = ellipseRle(cx, cy, rx, ry, W, H);
        gtW.push({ id: annId++, image_id: img.id, category_id: catId, iscrowd: 1, area: e.area, bbox: e.bbox, segmentation: { size: [H, W], counts: e.counts } });
        meta.crowd++;
        const nIn = rng.int(3);
        for (let j = 0; j < nIn; j++) {
          const sx = 10 + rng.uniform() * rx * 0.6;
          const sy = 10 + rng.uniform() * ry * 0.6;
          dets.push({ cat: catId, poly: polygon(rng, cx + (rng.uniform() - 0.5) * rx, cy + (rng.uniform() - 0.5) * ry, sx, sy, W, H, false), score: r4(0.1 + 0.8 * rng.uniform()) });
        }
        continue;
      }
      const [rx, ry] = objectRadii(rng, W, H);
      const cx = rx * 0.5 + rng.uniform() * Math.max(1, W - rx);
      const cy = ry * 0.5 + rng.uniform() * Math.max(1, H - ry);
      const star = rng.uniform() < 0.5;
      const poly = polygon(rng, cx, cy, rx, ry, W, H, star);
      const area = r2(polyArea(poly));
      if (area < 1) {
        g--;
        continue;
      }
      if (area < 1024) meta.small++;
      else if (area < 9216) meta.medium++;
      else meta.large++;
      gtW.push({ id: annId++, image_id: img.id, category_id: catId, iscrowd: 0, area, bbox: polyBox(poly), segmentation: [poly] });
      const obj: Obj = { poly };
      // detections of this object: a perturbed copy (90 %), sometimes a duplicate, sometimes a wrong category
      const copies = rng.uniform() < 0.9 ? (rng.uniform() < 0.25 ? 2 : 1) : 0;
      for (let j = 0; j < copies; j++) {
        const wrong = rng.uniform() < 0.1;
        dets.push({
          cat: wrong ? COCO_CAT_IDS[catIndex(rng)]! : catId,
          poly: perturb(rng, obj.poly, rx, ry, W, H),
          score: r4(j === 0 ? 0.25 + 0.75 * rng.uniform() ** 0.5 : 0.05 + 0.6 * rng.uniform()),
        });
      }
    }
    // fill up to exactly 100 detections with random false positives, mostly low scores
    while (dets.length < 100) {
      const [rx, ry] = objectRadii(rng, W, H);
      const cx = rng.uniform() * W;
      const cy = rng.uniform() * H;
      dets.push({ cat: COCO_CAT_IDS[catIndex(rng)]!, poly: polygon(rng, cx, cy, rx, ry, W, H, false), score: r4(0.7 * rng.uniform() ** 3) });
    }
    dets.length = 100;
    rng.shuffle(dets);
    for (const d of dets) {
      bboxW.push({ image_id: img.id, category_id: d.cat, bbox: polyBox(d.poly), score: d.score });
      segmW.push({ image_id: img.id, category_id: d.cat, segmentation: { size: [H, W], counts: rleToString(frPoly(d.poly, H, W)) }, score: d.score });
    }
    meta.detections += dets.length;
  }
  meta.gtAnnotations = annId - 1;
  gtW.close(']}\n');
  bboxW.close(']\n');
  segmW.close(']\n');
  writeJson(join(dir, 'meta.json'), meta);
  return meta;
}

function r4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** A detection mask / box for a GT polygon: scaled, shifted, vertices jittered; clipped to the image. */
function perturb(rng: Rng, poly: number[], rx: number, ry: number, W: number, H: number): number[] {
  let cx = 0;
  let cy = 0;
  const n = poly.length / 2;
  for (let i = 0; i < n; i++) {
    cx += poly[2 * i]!;
    cy += poly[2 * i + 1]!;
  }
  cx /= n;
  cy /= n;
  const s = Math.exp(rng.normal(0, 0.1));
  const dx = rng.normal(0, 0.08) * rx * 2;
  const dy = rng.normal(0, 0.08) * ry * 2;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = cx + (poly[2 * i]! - cx) * s + dx + rng.normal(0, 0.03) * rx;
    const y = cy + (poly[2 * i + 1]! - cy) * s + dy + rng.normal(0, 0.03) * ry;
    out.push(r2(Math.min(W - 0.01, Math.max(0, x))), r2(Math.min(H - 0.01, Math.max(0, y))));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// measurement (child process per IoU type)

interface ChildResult {
  iou: IouType;
  images: number;
  gtAnnotations: number;
  detections: number;
  loadGtS: number;
  loadResS: number;
  evaluateS: number;
  accumulateS: number;
  summarizeS: number;
  peakRssMB: number;
  stats: number[];
  summary: string[];
}

function child(dir: string, iou: IouType): void {
  const t0 = performance.now();
  const gt = CocoDataset.fromFile(join(dir, 'gt.json'));
  const t1 = performance.now();
  const dt = gt.loadRes(join(dir, `${iou}.json`));
  const t2 = performance.now();
  const E = new CocoEval(gt, dt, iou);
  E.evaluate();
  const t3 = performance.now();
  const acc = E.accumulate();
  const t4 = performance.now();
  const s = E.summarize(acc);
  const t5 = performance.now();
  const res: ChildResult = {
    iou,
    images: gt.images.size,
    gtAnnotations: gt.annotations.length,
    detections: dt.annotations.length,
    loadGtS: (t1 - t0) / 1000,
    loadResS: (t2 - t1) / 1000,
    evaluateS: (t3 - t2) / 1000,
    accumulateS: (t4 - t3) / 1000,
    summarizeS: (t5 - t4) / 1000,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    stats: s.stats,
    summary: s.lines,
  };
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

interface PyResult {
  stats: number[];
  timing_s: { load_gt: number; load_res: number; evaluate: number; accumulate: number; summarize: number };
  max_rss_mb: number;
}

function runPycocotools(python: string, dir: string, iou: IouType): PyResult {
  const r = spawnSync(
    python,
    [join(repoRoot, 'tools/fixtures/cocoeval_reference.py'), '--single', join(dir, 'gt.json'), join(dir, `${iou}.json`), iou],
    { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`pycocotools run (${python}) exited with ${r.status}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as PyResult;
}

/**
 * The generated case (gt.json, bbox.json, segm.json, meta.json) for `nImages` and `seed`, written once under
 * work_dirs/bench/cocoeval/ (the default 5000 images, seed 1, directly there) and reused while the generator
 * version matches. Also used by tools/bench/occlusion.ts.
 */
export function cocoEvalCase(nImages = 5000, seed = 1, regen = false): { dir: string; meta: Meta } {
  const base = join(repoRoot, 'work_dirs/bench/cocoeval');
  const dataDir = nImages === 5000 && seed === 1 ? base : join(base, `n${nImages}_s${seed}`);
  const metaPath = join(dataDir, 'meta.json');
  if (!regen && existsSync(metaPath)) {
    const m = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
    if (m.version === GENERATOR_VERSION && m.images === nImages && m.seed === seed) return { dir: dataDir, meta: m };
  }
  process.stderr.write(`generating ${nImages} images (seed ${seed}) in ${dataDir} …\n`);
  const t0 = performance.now();
  const meta = generate(dataDir, nImages, seed);
  process.stderr.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return { dir: dataDir, meta };
}

async function main(): Promise<void> {
  const dir = join(repoRoot, 'work_dirs/bench/cocoeval');
  const childIou = argValue('child');
  if (childIou) {
    child(argValue('dir') ?? dir, childIou as IouType);
    return;
  }
  const nImages = Number(argValue('images') ?? 5000);
  const seed = Number(argValue('seed') ?? 1);
  const ious = (argValue('iou') ?? 'bbox,segm').split(',') as IouType[];
  const python = argValue('pycocotools');
  const outPath = argValue('out') ?? join(repoRoot, 'work_dirs/bench/cocoeval.json');
  const { dir: dataDir, meta } = cocoEvalCase(nImages, seed, process.argv.includes('--regen'));
  process.stderr.write(
    `data: ${meta.images} images, ${meta.gtAnnotations} GT (${meta.crowd} crowd; ${meta.small} small, ${meta.medium} medium, ` +
      `${meta.large} large by polygon area), ${meta.detections} detections\n`,
  );

  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const iou of ious) {
    process.stderr.write(`measuring ${iou} …\n`);
    const load0 = loadavg()[0]!;
    const r = runChild<ChildResult>(SCRIPT, ['--child', iou, '--dir', dataDir]);
    const evalAcc = r.evaluateS + r.accumulateS;
    let py: PyResult | undefined;
    if (python) {
      process.stderr.write(`running pycocotools (${python}) on ${iou} …\n`);
      py = runPycocotools(python, dataDir, iou);
    }
    const refEvalAcc = py ? py.timing_s.evaluate + py.timing_s.accumulate : nImages === 5000 ? ISSUE_REFERENCE[iou].evalAccS : NaN;
    const identical = py ? py.stats.every((x, i) => x === r.stats[i]) : undefined;
    rows.push([
      iou,
      r.images,
      r.gtAnnotations,
      r.detections,
      r.loadGtS,
      r.loadResS,
      r.evaluateS,
      r.accumulateS,
      r.summarizeS,
      evalAcc,
      r.peakRssMB,
      refEvalAcc,
      refEvalAcc / evalAcc,
      py ? py.max_rss_mb : nImages === 5000 ? ISSUE_REFERENCE[iou].peakRssMB : NaN,
      identical === undefined ? 'n/a' : identical ? 'yes' : 'NO',
    ]);
    results.push({ ...r, evalAccS: evalAcc, loadavgBefore: load0, pycocotools: py ?? null, statsIdentical: identical ?? null });
  }
  const header = ['iou', 'images', 'GT', 'dets', 'load GT s', 'loadRes s', 'evaluate s', 'accumulate s', 'summarize s',
    'eval+acc s', 'peak RSS MB', python ? 'pycocotools eval+acc s' : 'pycocotools (issue) s', 'speed-up',
    python ? 'pycocotools RSS MB' : 'pycocotools (issue) MB', 'stats identical'];
  process.stdout.write(`${table(header, rows)}\n`);
  for (const r of results) process.stdout.write(`\n${String(r.iou)}:\n${(r.summary as string[]).join('\n')}\n`);
  writeJson(outPath, {
    benchmark: 'cocoeval',
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model.trim(), node: process.version, loadavg: loadavg() },
    data: { dir: dataDir, ...meta },
    reference: python ? `pycocotools via ${python}` : { source: 'issue (pycocotools 2.0.11, 5000 images)', ...ISSUE_REFERENCE },
    results,
  });
  process.stderr.write(`wrote ${outPath}\n`);
}

// run only as a script (tools/bench/occlusion.ts imports cocoEvalCase)
if (process.argv[1] !== undefined && realpathSync(resolve(process.argv[1])) === SCRIPT) await main();
