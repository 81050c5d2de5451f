/**
 * `npm run bench:occlusion` — the cost of the occlusion analysis (eval/occlusion.ts, eval/occlusion-report.ts).
 *
 * 1. Occlusion ratio speed: `boxOcclusionRatio`, `pairwiseOcclusionRatio` and the mask variant over every image of
 *    ../shared/coco/val2014_100 (when present), and `boxOcclusionRatio` on a seeded COCO-val-scale synthetic set:
 *    5000 images of ≈ 7 boxes (1 … 14) plus 10 crowded images of 100 boxes. Median of 5 runs.
 * 2. The report target (issue 5): on the COCO-val-scale case of `bench:cocoeval` (its generator, 5000 images,
 *    100 detections per image) with two models — model A = that case's results file, model B = the same detections
 *    with seeded jitter (boxes ±3 % of their size and scores for bbox; scores for segm) — three child processes:
 *      eval:      load the GT once, then per model loadRes + evaluate + accumulate + summarize (what evaluating the
 *                 two result files once costs);
 *      report-0:  buildOcclusionReport (bootstrap 0) + writeOcclusionReport;
 *      report-B:  the same with the default bootstrap (200 resamples per subset; --bootstrap N changes it).
 *    Each is reported with its phases (wall time), its wall and CPU time (user + system, all threads) and their
 *    ratios to `eval`; the target is report ≤ 1.5 × eval. Phases are wall-clock seconds inside the child.
 * 3. The same split into components in one process (CPU time, min of 3 interleaved rounds): loading, evaluate +
 *    accumulate, ratios, subset accumulations, bootstrap — the steadier estimate of both ratios on a busy machine.
 *
 * Options: --iou bbox|segm|bbox,segm (default bbox), --images 5000, --bootstrap 200, --repeats 1 (child runs per
 * configuration, the fastest is kept), --skip-ratios, --skip-report, --out work_dirs/bench/occlusion.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval, type IouType } from '../../eval/cocoeval.js';
import { buildOcclusionReport, DEFAULT_BOOTSTRAP, writeOcclusionReport } from '../../eval/occlusion-report.js';
import { assignBins } from '../../eval/occlusion-bins.js';
import { boxOcclusionRatio, imageOcclusionRatios, pairwiseOcclusionRatio } from '../../eval/occlusion.js';
import { Rng } from '../../src/nn/rng.js';
import { cocoEvalCase } from './cocoeval.js';
import { argValue, repoRoot, runChild, table, time, writeJson } from './harness.js';

const SCRIPT = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------------------------
// 1. occlusion ratio speed

/** 5000 images of 1–14 boxes (≈ 7.2 on average, as COCO val) and 10 images of 100 boxes, COCO-like sizes. */
function syntheticBoxes(seed = 1): Float64Array[] {
  const rng = new Rng(seed);
  const images: Float64Array[] = [];
  const one = (n: number, spread: number) => {
    const b = new Float64Array(4 * n);
    for (let i = 0; i < n; i++) {
      const w = 8 + rng.uniform() * 200;
      const h = 8 + rng.uniform() * 200;
      b.set([rng.uniform() * (640 - w) * spread, rng.uniform() * (480 - h) * spread, w, h], 4 * i);
    }
    return b;
  };
  for (let i = 0; i < 5000; i++) images.push(one(1 + Math.floor(rng.uniform() * 13.4), 0.3 + 0.7 * rng.uniform()));
  for (let i = 0; i < 10; i++) images.push(one(100, 0.8));
  return images;
}

async function ratioSpeed(): Promise<{ rows: (string | number)[][]; json: Record<string, unknown>[] }> {
  const rows: (string | number)[][] = [];
  const json: Record<string, unknown>[] = [];
  const add = async (name: string, images: number, boxes: number, fn: () => void) => {
    const t = await time(fn, 5);
    rows.push([name, String(images), String(boxes), t.medianMs, (1000 * t.medianMs) / images]);
    json.push({ name, images, boxes, medianMs: t.medianMs, minMs: t.minMs, usPerImage: (1000 * t.medianMs) / images });
  };
  const gtPath = join(repoRoot, '../shared/coco/val2014_100/instances_val2014_100.json');
  if (existsSync(gtPath)) {
    const gt = CocoDataset.fromFile(gtPath);
    const per = gt.getImgIds().map((id) => Float64Array.from(gt.annsByImage(id).filter((a) => !a.iscrowd).flatMap((a) => a.bbox)));
    const nBoxes = per.reduce((s, b) => s + b.length / 4, 0);
    await add('val2014_100 box', per.length, nBoxes, () => per.forEach((b) => boxOcclusionRatio(b)));
    await add('val2014_100 pairwise', per.length, nBoxes, () => per.forEach((b) => pairwiseOcclusionRatio(b)));
    // the mask variant rasterises the GT polygons; the dataset caches them, so time a fresh dataset per run
    await add('val2014_100 mask (incl. polygon → RLE)', per.length, nBoxes, () => {
      imageOcclusionRatios(CocoDataset.fromFile(gtPath), 'mask');
    });
  } else {
    process.stderr.write(`(../shared/coco not found: skipping the val2014_100 rows)\n`);
  }
  const synth = syntheticBoxes();
  const common = synth.slice(0, 5000);
  const crowded = synth.slice(5000);
  const nb = (xs: Float64Array[]) => xs.reduce((s, b) => s + b.length / 4, 0);
  await add('synthetic 5000 × ≈7 boxes, box', common.length, nb(common), () => common.forEach((b) => boxOcclusionRatio(b)));
  await add('synthetic 10 × 100 boxes, box', crowded.length, nb(crowded), () => crowded.forEach((b) => boxOcclusionRatio(b)));
  await add('synthetic all 5010, box', synth.length, nb(synth), () => synth.forEach((b) => boxOcclusionRatio(b)));
  await add('synthetic all 5010, pairwise', synth.length, nb(synth), () => synth.forEach((b) => pairwiseOcclusionRatio(b)));
  return { rows, json };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. report vs evaluation (child processes)

interface ChildResult {
  mode: string;
  iou: IouType;
  wallS: number;
  /** user + system CPU time of the process (all threads): steadier than wall time on a shared machine */
  cpuS: number;
  phases: Record<string, number>;
  peakRssMB: number;
}

/** Model B's results: A's detections with seeded jitter, written once next to the case. */
function modelB(dir: string, iou: IouType): string {
  const path = join(dir, `${iou}.modelB.json`);
  if (existsSync(path)) return path;
  process.stderr.write(`writing ${path} …\n`);
  const dets = JSON.parse(readFileSync(join(dir, `${iou}.json`), 'utf8')) as { bbox?: number[]; score: number }[];
  const rng = new Rng(`modelB/${iou}`);
  for (const d of dets) {
    d.score = Math.round(Math.min(1, Math.max(0, d.score + rng.normal(0, 0.05))) * 1e4) / 1e4;
    if (iou === 'bbox' && d.bbox) {
      const [x, y, w, h] = d.bbox as [number, number, number, number];
      d.bbox = [x + rng.normal(0, 0.03) * w, y + rng.normal(0, 0.03) * h, w * Math.exp(rng.normal(0, 0.03)), h * Math.exp(rng.normal(0, 0.03))].map(
        (v) => Math.round(v * 100) / 100,
      );
    }
  }
  // one line per detection keeps the 150 MB segm file writable without one giant string
  writeFileSync(path, `[\n${dets.map((d) => JSON.stringify(d)).join(',\n')}\n]\n`);
  return path;
}

function child(mode: string, dir: string, iou: IouType, bootstrap: number): void {
  const gtPath = join(dir, 'gt.json');
  const files = [join(dir, `${iou}.json`), join(dir, `${iou}.modelB.json`)];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let phases: Record<string, number> = {};
  if (mode === 'eval') {
    let t = performance.now();
    const gt = CocoDataset.fromFile(gtPath);
    phases.loadGt = (performance.now() - t) / 1000;
    files.forEach((f, m) => {
      t = performance.now();
      const dt = gt.loadRes(f);
      phases[`loadRes:${m}`] = (performance.now() - t) / 1000;
      t = performance.now();
      const E = new CocoEval(gt, dt, iou);
      E.evaluate();
      phases[`evaluate:${m}`] = (performance.now() - t) / 1000;
      t = performance.now();
      E.summarize(E.accumulate());
      phases[`accumulate:${m}`] = (performance.now() - t) / 1000;
    });
  } else {
    const report = buildOcclusionReport({
      gt: gtPath,
      iouType: iou,
      bootstrap,
      results: [{ name: 'A', file: files[0] }, { name: 'B', file: files[1] }],
    });
    const t = performance.now();
    const out = join(repoRoot, 'work_dirs/bench/occlusion', `${iou}-${mode}`);
    writeOcclusionReport(report, out);
    phases = { ...report.timing, write: (performance.now() - t) / 1000 };
    delete phases.total;
  }
  const c1 = process.cpuUsage(c0);
  const res: ChildResult = { mode, iou, wallS: (performance.now() - t0) / 1000, cpuS: (c1.user + c1.system) / 1e6, phases, peakRssMB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

/**
 * The same work split into components, measured in one process as CPU time (user + system), each the minimum over
 * `repeats` interleaved rounds — steadier than whole runs on a shared machine: loading (GT once, each results file
 * once), per model evaluate + accumulate + summarize (= eval), the ratios, the 19 subset accumulations, and the
 * bootstrap (resampler set-up + B replicates).
 */
function components(dir: string, iou: IouType, bootstrap: number, repeats: number): void {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const best: Record<string, number> = {};
  const keep = (k: string, v: number) => (best[k] = Math.min(best[k] ?? Infinity, v));
  let c = cpu();
  const gt = CocoDataset.fromFile(join(dir, 'gt.json'));
  keep('loadGt', cpu() - c);
  best.loadResSum = 0;
  const dts = [join(dir, `${iou}.json`), join(dir, `${iou}.modelB.json`)].map((f) => {
    c = cpu();
    const dt = gt.loadRes(f);
    best.loadResSum! += cpu() - c;
    return dt;
  });
  const ids = gt.getImgIds();
  for (let round = 0; round < repeats; round++) {
    c = cpu();
    const ratios = imageOcclusionRatios(gt, 'box');
    const a = assignBins(ratios, 10);
    keep('ratios', cpu() - c);
    const subsets = [...a.binImages, ...a.levelImages.slice(1)].filter((x) => x.length);
    const groups = ids.map((id) => a.binOf.get(id)!);
    const ranges: [number, number][] = [[0, 9]];
    for (let k = 0; k < 10; k++) if (a.binImages[k]!.length) ranges.push([k, k]);
    for (let k = 1; k < 10; k++) if (a.levelImages[k]!.length) ranges.push([k, 9]);
    let ev = 0;
    let sub = 0;
    let boot = 0;
    for (const dt of dts) {
      c = cpu();
      const E = new CocoEval(gt, dt, iou);
      E.evaluate();
      E.summarize(E.accumulate());
      ev += cpu() - c;
      c = cpu();
      for (const s of subsets) E.summaryStats({ imgIds: s });
      sub += cpu() - c;
      c = cpu();
      const rs = E.apResampler(ids, { groups, ranges });
      const rng = new Rng(1);
      const counts = new Int32Array(ids.length);
      const out = new Float64Array(3 * ranges.length);
      for (let b = 0; b < bootstrap; b++) {
        counts.fill(0);
        for (let i = 0; i < ids.length; i++) counts[rng.int(ids.length)]!++;
        rs.run(counts, out);
      }
      boot += cpu() - c;
    }
    keep('evaluate+accumulate (2 models)', ev);
    keep('subsets (2 models)', sub);
    keep(`bootstrap ${bootstrap} (2 models)`, boot);
  }
  process.stdout.write(`${JSON.stringify({ iou, repeats, cpuS: best })}\n`);
}

function fastest(mode: string, dir: string, iou: IouType, bootstrap: number, repeats: number): ChildResult {
  let best: ChildResult | undefined;
  for (let i = 0; i < repeats; i++) {
    process.stderr.write(`  ${iou} ${mode} (run ${i + 1}/${repeats}) …\n`);
    const r = runChild<ChildResult>(SCRIPT, ['--child', mode, '--dir', dir, '--iou', iou, '--bootstrap', String(bootstrap)]);
    if (!best || r.wallS < best.wallS) best = r;
  }
  return best!;
}

async function main(): Promise<void> {
  const childMode = argValue('child');
  if (childMode === 'components') {
    components(argValue('dir')!, argValue('iou') as IouType, Number(argValue('bootstrap') ?? DEFAULT_BOOTSTRAP), Number(argValue('repeats') ?? 3));
    return;
  }
  if (childMode) {
    child(childMode, argValue('dir')!, argValue('iou') as IouType, Number(argValue('bootstrap') ?? DEFAULT_BOOTSTRAP));
    return;
  }
  const ious = (argValue('iou') ?? 'bbox').split(',') as IouType[];
  const nImages = Number(argValue('images') ?? 5000);
  const bootstrap = Number(argValue('bootstrap') ?? DEFAULT_BOOTSTRAP);
  const repeats = Number(argValue('repeats') ?? 1);
  const outPath = argValue('out') ?? join(repoRoot, 'work_dirs/bench/occlusion.json');
  const result: Record<string, unknown> = {
    benchmark: 'occlusion',
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model.trim(), node: process.version, loadavgBefore: loadavg() },
  };

  if (!process.argv.includes('--skip-ratios')) {
    process.stderr.write('occlusion ratio speed …\n');
    const r = await ratioSpeed();
    process.stdout.write(`${table(['case', 'images', 'boxes', 'median ms', 'µs / image'], r.rows)}\n\n`);
    result.ratios = r.json;
  }

  if (!process.argv.includes('--skip-report')) {
    const { dir, meta } = cocoEvalCase(nImages, 1);
    process.stderr.write(`report vs evaluation on ${meta.images} images, ${meta.gtAnnotations} GT, ${meta.detections} detections per model …\n`);
    mkdirSync(join(repoRoot, 'work_dirs/bench/occlusion'), { recursive: true });
    const rows: (string | number)[][] = [];
    const runs: Record<string, unknown>[] = [];
    for (const iou of ious) {
      modelB(dir, iou);
      const ev = fastest('eval', dir, iou, 0, repeats);
      const r0 = fastest('report-0', dir, iou, 0, repeats);
      const rb = fastest(`report-${bootstrap}`, dir, iou, bootstrap, repeats);
      for (const r of [ev, r0, rb]) {
        const ph = r.phases;
        const sum = (re: RegExp) => Object.entries(ph).filter(([k]) => re.test(k)).reduce((s, [, v]) => s + v, 0);
        rows.push([iou, r.mode, r.wallS, r.wallS / ev.wallS, r.cpuS, r.cpuS / ev.cpuS, sum(/^load/), sum(/^evaluate/), sum(/^accumulate/), ph.ratios ?? 0,
          ph.bootstrap ?? 0, ph.write ?? 0, r.peakRssMB]);
        runs.push({ ...r, ratioToEval: r.wallS / ev.wallS, cpuRatioToEval: r.cpuS / ev.cpuS });
      }
    }
    process.stdout.write(
      `${table(['iou', 'run', 'wall s', '× eval', 'CPU s', '× eval CPU', 'load s', 'evaluate s', 'accumulate s', 'ratios s', 'bootstrap s', 'write s', 'peak RSS MB'], rows)}\n`,
    );
    process.stdout.write('target: report (two models) ≤ 1.5 × eval\n\n');
    // components, CPU time, min over 3 interleaved rounds
    const comp: Record<string, unknown>[] = [];
    const crow: (string | number)[][] = [];
    for (const iou of ious) {
      process.stderr.write(`  ${iou} components (3 rounds) …\n`);
      const r = runChild<{ iou: IouType; cpuS: Record<string, number> }>(SCRIPT, ['--child', 'components', '--dir', dir, '--iou', iou,
        '--bootstrap', String(bootstrap), '--repeats', '3']);
      const cs = r.cpuS;
      const evalS = cs.loadGt! + cs.loadResSum! + cs['evaluate+accumulate (2 models)']!;
      const extra0 = cs.ratios! + cs['subsets (2 models)']!;
      const boot = cs[`bootstrap ${bootstrap} (2 models)`]!;
      crow.push([iou, cs.loadGt! + cs.loadResSum!, cs['evaluate+accumulate (2 models)']!, cs.ratios!, cs['subsets (2 models)']!, boot,
        (evalS + extra0) / evalS, (evalS + extra0 + boot) / evalS]);
      comp.push({ iou, cpuS: cs, reportNoBootstrapOverEval: (evalS + extra0) / evalS, reportOverEval: (evalS + extra0 + boot) / evalS });
    }
    process.stdout.write(`${table(['iou', 'load CPU s', 'eval+acc CPU s', 'ratios CPU s', 'subsets CPU s', `bootstrap ${bootstrap} CPU s`,
      'report-0 / eval', `report-${bootstrap} / eval`], crow)}\n`);
    result.report = { data: { dir, ...meta }, bootstrap, repeats, runs, components: comp };
  }
  result.loadavgAfter = loadavg();
  writeJson(outPath, result);
  process.stderr.write(`wrote ${outPath}\n`);
}

await main();
