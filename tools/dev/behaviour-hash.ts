/**
 * Behaviour fingerprint of the house, for refactors that must not change behaviour (issue 16): prints one
 * `name sha256` line per observable, so two runs (before / after) can be diffed.
 *
 *   npx tsx tools/dev/behaviour-hash.ts [--no-cli] > work_dirs/house/after.txt
 *
 * Observables (TF.js cpu backend in-process; the CLI runs use `--backend wasm --threads 1`):
 * - state dicts (names, shapes, values) of the tiny RetinaNet and Mask R-CNN configs built with seed 0;
 * - their losses on toy scenes (plain and flipped), the gradients' sum of squares, and their predictions
 *   (boxes, scores, labels, mask RLE) with a score threshold of 0, plain and flipped;
 * - COCO evaluation (stats, precision / recall arrays, per-category rows, summary text, one resampler run) of the
 *   ../shared/coco reference pairs;
 * - `tiedet eval --json` on two ../shared/coco pairs; a `tiedet train --max-iters 2` + `--resume` + `tiedet test`
 *   round trip of each tiny config on a 20-image synthetic set (hashes of the detections written and of the
 *   config.json / log lines without times).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import retinaCfg from '../../configs/retinanet_tiedresnet_synthetic_tiny.js';
import maskCfg from '../../configs/mask-rcnn_tiedresnet_synthetic_tiny.js';
import type { Detection, Detector, DetectionBatch } from '../../detectors/detector.js';
import { toCocoResults } from '../../detectors/detector.js';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval, formatCategoryTable, type IouType } from '../../eval/cocoeval.js';
import { generateSynthetic } from '../../data/synthetic/index.js';
import { toyScenes } from '../../test/detectors/toy-scenes.js';
import { maskScenes } from '../../test/detectors/mask-rcnn-scenes.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SHARED = process.env.TIEDET_SHARED_COCO ?? resolve(ROOT, '../shared/coco');

function sha(...parts: Array<string | ArrayBufferView>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

function line(name: string, hash: string, note = ''): void {
  console.log(`${name.padEnd(34)} ${hash}${note ? `  ${note}` : ''}`);
}

function stateHash(m: Detector): string {
  const h = createHash('sha256');
  for (const [k, t] of m.stateDict()) {
    h.update(`${k}:${t.shape.join('x')}:${t.dtype};`);
    const d = t.dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}

function lossHash(m: Detector, batch: DetectionBatch): [string, string] {
  m.train();
  const h = createHash('sha256');
  const vars = m.parameters().filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(() => {
    const losses = m.loss(batch);
    const names = Object.keys(losses).sort();
    for (const n of names) h.update(`${n}=${(losses[n]!.dataSync() as Float32Array)[0]};`);
    return tf.addN(names.filter((n) => n.includes('loss')).map((n) => losses[n]!)) as tf.Scalar;
  }, vars);
  const g = createHash('sha256');
  for (const v of vars) {
    const gv = grads[v.name];
    const d = (gv ? gv.dataSync() : new Float32Array(0)) as Float32Array;
    g.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  const total = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return [h.digest('hex'), `${g.digest('hex')} total=${total}`];
}

function predictionHash(m: Detector, batch: DetectionBatch): [string, number] {
  m.eval();
  const dets: Detection[] = m.predict(batch);
  const h = createHash('sha256');
  let n = 0;
  for (const d of dets) {
    n += d.scores.length;
    h.update(`${d.imageId};`);
    for (const a of [d.boxes, d.scores, d.labels]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    if (d.masks) h.update(JSON.stringify(d.masks));
  }
  h.update(JSON.stringify(toCocoResults(dets, [1, 2, 3])));
  return [h.digest('hex'), n];
}

const TEST = { batchSize: 1, scoreThr: 0, nmsIouThr: 0.5, maxPerImg: 20 };

function detectors(): void {
  const retina = retinaCfg.model({ seed: 0, test: TEST, numClasses: 3 });
  const mask = maskCfg.model({ seed: 0, test: TEST, numClasses: 3 });
  try {
    line('retinanet.state', stateHash(retina));
    line('mask-rcnn.state', stateHash(mask));
    for (const flip of [false, true]) {
      const toy = toyScenes({ count: 2, size: 64, scale: flip ? 0.5 : 1, seed: 3, objects: [1, 3], sides: [16, 40] });
      const tb = flip ? { ...toy.batch, metas: toy.batch.metas.map((m) => ({ ...m, flipped: true })) } : toy.batch;
      const [l, g] = lossHash(retina, tb);
      line(`retinanet.loss${flip ? '.flip' : ''}`, l);
      line(`retinanet.grad${flip ? '.flip' : ''}`, g);
      const [p, n] = predictionHash(retina, tb);
      line(`retinanet.predict${flip ? '.flip' : ''}`, p, `(${n} dets)`);
      tf.dispose(toy.batch.images);

      const scenes = maskScenes({ count: 2, size: 64, original: flip ? 100 : 64, seed: 5, objects: [1, 3], sides: [16, 40] });
      const mb = scenes.batch(flip);
      const [ml, mg] = lossHash(mask, mb);
      line(`mask-rcnn.loss${flip ? '.flip' : ''}`, ml);
      line(`mask-rcnn.grad${flip ? '.flip' : ''}`, mg);
      const [mp, mn] = predictionHash(mask, mb);
      line(`mask-rcnn.predict${flip ? '.flip' : ''}`, mp, `(${mn} dets)`);
      tf.dispose(mb.images);
    }
  } finally {
    retina.dispose();
    mask.dispose();
  }
}

function cocoEval(): void {
  const pairs: Array<[string, string, IouType]> = [
    ['val2014_100/instances_val2014_100.json', 'val2014_100/instances_val2014_fakebbox100_results.json', 'bbox'],
    ['val2014_100/instances_val2014_100.json', 'val2014_100/instances_val2014_fakesegm100_results.json', 'segm'],
    ['synthwheels_maskrcnn/val.json', 'synthwheels_maskrcnn/coco_instances_results.json', 'segm'],
    ['fce_small/gt_dataset.json', 'fce_small/dt_dataset.json', 'bbox'],
  ];
  for (const [gtFile, dtFile, iou] of pairs) {
    const gt = CocoDataset.fromFile(join(SHARED, gtFile));
    const dt = gt.loadRes(JSON.parse(readFileSync(join(SHARED, dtFile), 'utf8')) as unknown[]);
    const ev = new CocoEval(gt, dt, iou);
    ev.evaluate();
    const acc = ev.accumulate();
    const summary = ev.summarize(acc);
    const rows = ev.perCategory(acc);
    const imgIds = ev.params.imgIds.slice(0, Math.max(1, ev.params.imgIds.length >> 1));
    const res = ev.apResampler(imgIds).run(imgIds.map((_, i) => (i % 3) + 0));
    const sub = ev.accumulate({ imgIds });
    const name = `cocoeval.${gtFile.split('/')[0]}.${iou}`;
    line(name, sha(JSON.stringify(ev.stats), acc.precision as Float64Array, acc.recall as Float64Array, acc.scores as Float64Array,
      JSON.stringify(summary), JSON.stringify(rows), formatCategoryTable(rows), res, sub.precision as Float64Array,
      JSON.stringify(ev.evalImgs().slice(0, 50)), JSON.stringify(ev.warnings)), `AP=${ev.stats[0]}`);
  }
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', '--backend', 'wasm', '--threads', '1', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`tiedet ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lines without wall-clock figures (times, rates, dates, temp paths). */
function stable(text: string, dir: string): string {
  return text
    .split(dir).join('<tmp>')
    .split(ROOT).join('<root>')
    .split('\n')
    .filter((l) => !/(\d+(\.\d+)?\s*(ms|s|min|h)\b|img\/s|it\/s|eta|elapsed|time|\d{4}-\d\d-\d\d)/i.test(l))
    .join('\n');
}

async function cliRuns(): Promise<void> {
  // a fixed folder: the config hash covers the training data's paths
  const dir = join(tmpdir(), 'tiedet-house-hash');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    for (const [name, gt, res, iou] of [
      ['synthwheels.segm', 'synthwheels_maskrcnn/val.json', 'synthwheels_maskrcnn/coco_instances_results.json', 'segm'],
      ['fce_small.bbox', 'fce_small/gt_dataset.json', 'fce_small/dt_dataset.json', 'bbox'],
    ] as const) {
      const out = join(dir, `${name}.json`);
      const r = cli(['eval', '--gt', join(SHARED, gt), '--results', join(SHARED, res), '--iou', iou, '--per-class', '--json', out]);
      const { timing: _t, gt: _g, results: _r, ...json } = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
      line(`cli.eval.${name}`, sha(stable(r.stdout, dir), JSON.stringify(json)), `AP=${(json.statsArray as number[])[0]}`);
    }
    const data = join(dir, 'data');
    await generateSynthetic({ preset: 'tiny', out: data, images: 20, size: 64, seed: 3 });
    const opts = [
      `data.train.annFile=${data}/annotations/instances_train.json`, `data.train.imageDir=${data}/train`,
      `data.val.annFile=${data}/annotations/instances_val.json`, `data.val.imageDir=${data}/val`,
      'data.scale=[64,64]', 'data.batchSize=4', 'train.epochs=1', 'train.milestones=[1]', 'train.warmupIters=10',
      'train.logEvery=1', 'train.evalEveryEpochs=1',
    ];
    for (const [name, config, metric] of [
      ['retinanet', 'retinanet_tiedresnet_synthetic_tiny', 'bbox'],
      ['mask-rcnn', 'mask-rcnn_tiedresnet_synthetic_tiny', 'segm'],
    ] as const) {
      const work = join(dir, name);
      const extra = name === 'mask-rcnn' ? ['train.evalMetrics=["bbox","segm"]'] : [];
      const a = cli(['train', config, '--work-dir', work, '--max-iters', '2', '--cfg-options', ...opts, ...extra]);
      const b = cli(['train', config, '--work-dir', work, '--resume', '--cfg-options', ...opts, ...extra]);
      const conf = JSON.parse(readFileSync(join(work, 'config.json'), 'utf8')) as Record<string, unknown>;
      const model = conf.model as Record<string, unknown> | undefined;
      line(`cli.train.${name}.modelHash`, String(model?.modelHash ?? conf.modelHash));
      line(`cli.train.${name}.configHash`, String(conf.configHash));
      const log = readFileSync(join(work, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => {
        const { time: _t, elapsed: _e, eta: _eta, dataTime: _d, iterTime: _i, memory: _m, timestamp: _ts, ...rest } = JSON.parse(l) as Record<string, unknown>;
        // config / model hashes are printed on their own lines above (they change with the config's shape)
        return Object.fromEntries(Object.entries(rest).filter(([k]) => !/time|sec|ms|rate|eta|mem|date|started|host|path|dir|hash/i.test(k)));
      });
      line(`cli.train.${name}.log`, sha(JSON.stringify(log)), `(${log.length} lines)`);
      const ckpts = readdirSync(work).filter((f) => /^iter_\d+\.json$/.test(f)).sort((x, y) => parseInt(x.slice(5), 10) - parseInt(y.slice(5), 10));
      const last = ckpts[ckpts.length - 1];
      const weights = last ? (JSON.parse(readFileSync(join(work, last), 'utf8')) as { files: { weights: { sha256: string } } }).files.weights.sha256 : 'none';
      line(`cli.train.${name}.weights`, weights, last ?? '');
      line(`cli.train.${name}.stdout`, sha(stable(a.stdout, dir), stable(b.stdout, dir)));
      const out = join(dir, `${name}.dt.json`);
      const c = cli(['test', config, work, '--out', out, '--eval', metric, '--cfg-options', ...opts, ...extra, 'test.scoreThr=0']);
      line(`cli.test.${name}.detections`, sha(readFileSync(out, 'utf8')));
      line(`cli.test.${name}.stdout`, sha(stable(c.stdout, dir)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  detectors();
  cocoEval();
  if (!process.argv.includes('--no-cli')) await cliRuns();
}

await main();
