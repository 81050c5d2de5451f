/**
 * `npm run bench:infer` — `tiedet infer` throughput (images per second, end to end: decode, transform, network,
 * post-processing, mask paste + RLE, results written) for each torchvision preset, next to torchvision's own time on
 * the same machine in the same run (tools/reference/torchvision_infer.py with Debian's /usr/bin/python3, when torch
 * is importable there).
 *
 * Images: `--images N` (default 100) files made from the photographs of ../shared/images (repeated in turn, at their
 * own sizes 451×300 … 640×427, so the presets resize them to 800 on the short side). Weights: torchvision's preset
 * with seeded random weights, the class biases spread so that images get detections (as with real weights the mask
 * head and paste run); the Python script writes them and tiedet loads the same file. One warm-up image each.
 * Both sides use `--threads N` threads (default: all cores). The machine may be shared: the load average is
 * printed; treat the numbers as such.
 *
 * Options: --models maskrcnn_resnet50_fpn,retinanet_resnet50_fpn,fasterrcnn_resnet50_fpn --images 100 --threads N
 * --out work_dirs/bench/infer.json
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadDetectorWeights } from '../../detectors/torchvision/weights.js';
import { initEngine } from '../../src/engine/index.js';
import { buildTorchvision, torchvisionConfig, torchvisionInferModel } from '../infer/models.js';
import { listImages } from '../infer/inputs.js';
import { runInfer } from '../infer/run.js';
import { argValue, repoRoot, table, writeJson } from './harness.js';

const models = (argValue('models') ?? 'maskrcnn_resnet50_fpn,retinanet_resnet50_fpn,fasterrcnn_resnet50_fpn').split(',');
const count = Number(argValue('images') ?? 100);
const threads = Number(argValue('threads') ?? availableParallelism());
const outFile = argValue('out') ?? join(repoRoot, 'work_dirs', 'bench', 'infer.json');
const work = join(repoRoot, 'work_dirs', 'bench', 'infer');

const shared = join(repoRoot, '..', 'shared', 'images');
const photos = readdirSync(shared).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
const imgDir = join(work, 'images');
const warmDir = join(work, 'warm');
rmSync(work, { recursive: true, force: true });
mkdirSync(imgDir, { recursive: true });
mkdirSync(warmDir, { recursive: true });
for (let i = 0; i < count; i++) {
  const f = photos[i % photos.length]!;
  copyFileSync(join(shared, f), join(imgDir, `${String(i).padStart(4, '0')}_${f}`));
}
copyFileSync(join(shared, photos[0]!), join(warmDir, photos[0]!));

const engine = await initEngine({ backend: 'wasm', threads });
const hasTorch = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torchvision'], { encoding: 'utf8' }).status === 0;
const rows: (string | number)[][] = [];
const results: Record<string, unknown>[] = [];
const silent = { write: () => true, isTTY: false };
for (const name of models) {
  const weights = join(work, `${name}.safetensors`);
  let tv: { seconds: number; imagesPerSecond: number; detections: number } | null = null;
  process.stderr.write(`${name}: torchvision…\n`);
  const r = spawnSync('/usr/bin/python3', [join(repoRoot, 'tools', 'reference', 'torchvision_infer.py'), name, imgDir, weights, '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (!hasTorch || r.status !== 0) throw new Error(`${name}: the torchvision reference failed (it also writes the weights tiedet loads)`);
  tv = JSON.parse(r.stdout.trim().split('\n').pop()!);
  process.stderr.write(`${name}: tiedet…\n`);
  const model = buildTorchvision(torchvisionConfig(`torchvision:${name}`));
  try {
    loadDetectorWeights(model, weights);
    const im = torchvisionInferModel(model);
    await runInfer({ model: im, images: listImages(warmDir), out: join(work, 'warm-out'), stream: silent });
    const s = await runInfer({ model: im, images: listImages(imgDir), out: join(work, `${name}-out`) });
    rows.push([name, s.read, s.seconds, s.imagesPerSecond, tv!.seconds, tv!.imagesPerSecond, s.seconds / tv!.seconds, s.detections + s.droppedNonCoco, tv!.detections]);
    results.push({ model: name, images: s.read, tiedet: { seconds: s.seconds, imagesPerSecond: s.imagesPerSecond, detections: s.detections + s.droppedNonCoco, written: s.detections }, torchvision: tv });
  } finally {
    model.dispose();
  }
  rmSync(weights, { force: true });
}
const load = loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(table(['preset', 'images', 'tiedet s', 'tiedet img/s', 'torchvision s', 'torchvision img/s', 'time ratio', 'tiedet dets', 'tv dets'], rows));
console.log(`backend ${engine.backend} ×${engine.threads}; torch threads ${threads}; load average ${load} (shared machine: other jobs were running)`);
writeJson(outFile, { backend: engine.backend, threads, images: count, loadAverage: loadavg(), shared: true, results });
