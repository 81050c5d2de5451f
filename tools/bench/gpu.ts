/**
 * `npm run bench:gpu` — the webgpu backend next to wasm on the same machine (issue #17). Prints the WebGPU adapter
 * (vendor, architecture, description, maxBufferSize, maxStorageBufferBindingSize) and one table, webgpu vs wasm,
 * median of `--repeats` runs after one warm-up (every run awaits its results):
 *
 *   conv 3×3 256→256 forward, and forward + backward (dx, dW) — on 1×200×336×256 (P3 of an 800×1333 input)
 *   ResNet-50 and TiedResNet-50 forward (C2–C5, eval mode) at 800×1333 (padded to 800×1344)
 *   RetinaNet R50-FPN and Mask R-CNN R50-FPN training step (loss + gradients + SGD update), 1333×800, batch 2,
 *     the COCO configs' model state (frozen stem + stage 1, frozen BN, backbone activation checkpointing); Mask
 *     R-CNN runs its async loss on webgpu (proposals read asynchronously), the sync one on wasm
 *   RetinaNet and Mask R-CNN inference per image (`predictAsync`, batch 1, 800×1333, random weights)
 *
 * `--quick`: the same rows at small sizes with tiny models (conv 1×16×16×256, backbones at 64×64, TiedResNet-tiny
 * detectors at 64×64), one cold run each (no warm-up) — for SwiftShader, where it finishes in a few minutes; it
 * checks that the benchmark runs, its numbers say nothing about a GPU. Other options: --repeats N (default 3; --quick 1), --backends webgpu,wasm,
 * --only conv,backbones,train,infer, --threads N (wasm), --out work_dirs/bench/gpu.json. Each backend runs in its
 * own child process (wasm threads are fixed per process; a lost GPU device does not take the wasm numbers with it).
 * A backend that cannot start (no adapter) is reported with the reason; the run continues with the others.
 *
 * Real GPUs: Linux needs the Vulkan loader (Debian `libvulkan1`) and the driver's ICD (NVIDIA:
 * `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json` or where the driver put it); README "GPU (WebGPU)".
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import type { Detection } from '../../detectors/detector.js';
import { maskRcnnConfig, MASK_RCNN_TINY } from '../../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import type { MaskRcnnTargets } from '../../detectors/mask-rcnn/targets.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { resnet50, tiedResNet50, tiedResNetTiny } from '../../src/backbones/presets.js';
import type { Backbone } from '../../src/backbones/backbone.js';
import { variableGradsAsync } from '../../src/engine/async-grads.js';
import { initEngine, type BackendName, type EngineInfo } from '../../src/engine/index.js';
import { conv2d } from '../../src/nn/functional.js';
import { SGD } from '../../src/train/sgd.js';
import { argValue, repoRoot, runChild, table, time, writeJson, type Timing } from './harness.js';

const SCRIPT = fileURLToPath(import.meta.url);
const quick = process.argv.includes('--quick');
const repeats = Number(argValue('repeats') ?? (quick ? 1 : 3));
const only = (argValue('only') ?? 'conv,backbones,train,infer').split(',');

interface Row {
  name: string;
  ms: number | null;
  note?: string;
}
interface ChildResult {
  backend: string;
  engine: Pick<EngineInfo, 'backend' | 'threads' | 'webgpu'> | null;
  error: string | null;
  rows: Row[];
}

const say = (s: string) => process.stderr.write(`${s}\n`);

function metaFor(h: number, w: number, id = 1): ImageMeta {
  const pad = (v: number) => Math.ceil(v / 32) * 32;
  return {
    imageId: id,
    file: 'bench.png',
    originalSize: { width: w, height: h },
    resizedSize: { width: w, height: h },
    padSize: { width: pad(w), height: pad(h) },
    scaleFactor: [1, 1],
    flipped: false,
  };
}

/** Four boxes (laid out for 800×1333, scaled to the input) with rectangle masks. */
function targetsFor(meta: ImageMeta): MaskRcnnTargets {
  const { width: W, height: H } = meta.padSize;
  const s = meta.resizedSize.height / 800;
  const boxes = [
    [100, 120, 400, 500],
    [600, 200, 900, 420],
    [1000, 450, 1250, 760],
    [300, 550, 520, 700],
  ].map((b) => b.map((v) => Math.max(1, Math.round(v * s))));
  const masks = new Uint8Array(boxes.length * H * W);
  boxes.forEach(([x1, y1, x2, y2], g) => {
    for (let y = y1!; y < Math.min(y2!, H); y++) masks.fill(1, g * H * W + y * W + x1!, g * H * W + y * W + Math.min(x2!, W));
  });
  return { boxes: Float32Array.from(boxes.flat()), labels: Int32Array.from([0, 1, 2, 0]), masks };
}

function batchOf(n: number, h: number, w: number, withTargets: boolean) {
  const metas = Array.from({ length: n }, (_, i) => metaFor(h, w, i + 1));
  const images = tf.randomNormal([n, metas[0]!.padSize.height, metas[0]!.padSize.width, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  return { images, metas, targets: withTargets ? metas.map(targetsFor) : undefined };
}

async function row(name: string, fn: () => Promise<void>): Promise<Row> {
  try {
    if (quick) {
      // one run, no warm-up: --quick checks that every row runs (its times include pipeline compilation)
      const t0 = performance.now();
      await fn();
      say(`    ${name}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      return { name, ms: performance.now() - t0, note: 'one cold run' };
    }
    const t: Timing = await time(fn, repeats, name);
    return { name, ms: t.medianMs };
  } catch (e) {
    return { name, ms: null, note: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
  }
}

function backbone(kind: 'r50' | 'tied50' | 'tiny', train: boolean): Backbone {
  const opts = { seed: 1, numClasses: null, ...(train ? { frozenStages: 1, normEval: true, withCp: true } : {}) } as const;
  if (kind === 'tiny') return tiedResNetTiny({ seed: 1, numClasses: null });
  return kind === 'r50' ? resnet50(opts) : tiedResNet50(opts);
}

function retinaNet(train: boolean): RetinaNet {
  return quick
    ? new RetinaNet({ backbone: backbone('tiny', train), config: { numClasses: 3, model: { neck: { outChannels: 32 }, head: { featChannels: 32 } } }, seed: 2 })
    : new RetinaNet({ backbone: backbone('r50', train), config: { numClasses: 80 }, seed: 2 });
}

function maskRcnn(train: boolean): MaskRCNN {
  return quick
    ? new MaskRCNN({ backbone: backbone('tiny', train), config: maskRcnnConfig(MASK_RCNN_TINY, { numClasses: 3 }), seed: 2 })
    : new MaskRCNN({ backbone: backbone('r50', train), config: maskRcnnConfig({ numClasses: 80 }), seed: 2 });
}

async function sumLosses(l: Record<string, tf.Scalar>): Promise<void> {
  await Promise.all(Object.values(l).map((t) => t.data()));
}

async function child(backend: BackendName): Promise<ChildResult> {
  let engine: EngineInfo;
  try {
    engine = await initEngine({ backend, threads: argValue('threads') ? Number(argValue('threads')) : undefined });
  } catch (e) {
    return { backend, engine: null, error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!, rows: [] };
  }
  const rows: Row[] = [];
  const [H, W] = quick ? [64, 64] : [800, 1333];
  if (only.includes('conv')) {
    const shape: [number, number, number, number] = quick ? [1, 16, 16, 256] : [1, 200, 336, 256];
    const x = tf.randomNormal(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 256, 256], 0, 0.05, 'float32', 2) as tf.Tensor4D;
    const label = `conv 3×3 256→256 ${shape.slice(1, 3).join('×')}`;
    rows.push(await row(`${label} fwd`, async () => {
      const y = conv2d(x, w, null, { padding: 1 });
      await y.data();
      y.dispose();
    }));
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, null, { padding: 1 })));
    rows.push(await row(`${label} fwd+bwd`, async () => {
      const out = g([x, w]);
      await Promise.all(out.map((t) => t.data()));
      tf.dispose(out);
    }));
    tf.dispose([x, w]);
  }
  if (only.includes('backbones')) {
    for (const kind of quick ? (['tiny'] as const) : (['r50', 'tied50'] as const)) {
      const m = backbone(kind, false);
      m.eval();
      const x = batchOf(1, H, W, false).images;
      rows.push(await row(`${kind === 'r50' ? 'ResNet-50' : kind === 'tied50' ? 'TiedResNet-50' : 'TiedResNet-tiny'} fwd ${H}×${W}`, async () => {
        const f = m.forward(x);
        await Promise.all(Object.values(f).map((t) => t.data()));
        tf.dispose(Object.values(f));
      }));
      x.dispose();
      m.dispose();
    }
  }
  if (only.includes('train')) {
    const b = batchOf(2, H, W, true);
    for (const which of ['RetinaNet', 'Mask R-CNN'] as const) {
      const model = which === 'RetinaNet' ? retinaNet(true) : maskRcnn(true);
      model.train();
      const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
      const vars = model.trainableVariables();
      const total = (l: Record<string, tf.Scalar>) => tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
      rows.push(await row(`${which} train step ${W}×${H} batch 2`, async () => {
        const r =
          model instanceof MaskRCNN && tf.getBackend() === 'webgpu'
            ? await variableGradsAsync(async (tape) => {
                const l = await model.lossAsync(b, tape);
                const t = tape.run(() => total(l));
                tf.dispose(Object.values(l));
                return t;
              }, vars)
            : tf.variableGrads(() => total(model.loss(b)), vars);
        sgd.step(r.grads);
        await sumLosses({ loss: r.value });
        tf.dispose([r.value, ...Object.values(r.grads)]);
      }));
      sgd.dispose();
      model.dispose();
    }
    b.images.dispose();
  }
  if (only.includes('infer')) {
    const b = batchOf(1, H, W, false);
    for (const which of ['RetinaNet', 'Mask R-CNN'] as const) {
      const model = which === 'RetinaNet' ? retinaNet(false) : maskRcnn(false);
      model.eval();
      let dets: Detection[] = [];
      rows.push(await row(`${which} inference ${W}×${H} per image`, async () => {
        dets = await model.predictAsync(b);
      }));
      if (rows.at(-1)!.ms !== null) rows.at(-1)!.note = `${dets[0]?.scores.length ?? 0} detections`;
      model.dispose();
    }
    b.images.dispose();
  }
  return { backend, engine: { backend: engine.backend, threads: engine.threads, webgpu: engine.webgpu }, error: null, rows };
}

async function main(): Promise<void> {
  const childBackend = argValue('child');
  if (childBackend) {
    const r = await child(childBackend as BackendName);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }
  const backends = (argValue('backends') ?? 'webgpu,wasm').split(',') as BackendName[];
  const pass = process.argv.slice(2).filter((a, i, all) => a !== '--backends' && all[i - 1] !== '--backends' && !a.startsWith('--backends='));
  const results: ChildResult[] = [];
  for (const b of backends) {
    say(`bench:gpu — ${b}${quick ? ' (--quick: small sizes, tiny models)' : ''}`);
    try {
      results.push(runChild<ChildResult>(SCRIPT, [...pass, '--child', b]));
    } catch (e) {
      // e.g. the wasm heap (4 GiB) aborting on Mask R-CNN at 1333×800 batch 2: report it, keep the other backend
      results.push({ backend: b, engine: null, error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!, rows: [] });
    }
  }
  const gpu = results.find((r) => r.backend === 'webgpu');
  const a = gpu?.engine?.webgpu.adapter;
  const out: string[] = [];
  if (a) {
    out.push(
      `WebGPU adapter: ${a.vendor} / ${a.architecture} / ${a.description}${a.software ? ' (software: correctness only, not GPU speed)' : ''}; ` +
        `maxBufferSize ${(a.maxBufferSize / 2 ** 20).toFixed(0)} MiB, maxStorageBufferBindingSize ${(a.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  for (const r of results) if (r.error) out.push(`${r.backend}: not run — ${r.error}`);
  const names = [...new Set(results.flatMap((r) => r.rows.map((x) => x.name)))];
  const cell = (r: ChildResult | undefined, n: string) => {
    const x = r?.rows.find((y) => y.name === n);
    return x?.ms == null ? (x?.note ? `failed` : '—') : (x.ms / 1000).toFixed(3);
  };
  const wasm = results.find((r) => r.backend === 'wasm');
  out.push(
    table(
      ['case', ...results.map((r) => `${r.backend}${r.backend === 'wasm' && r.engine ? ` ×${r.engine.threads}` : ''} s`), ...(gpu && wasm ? ['wasm / webgpu'] : [])],
      names.map((n) => {
        const g = gpu?.rows.find((y) => y.name === n)?.ms;
        const w = wasm?.rows.find((y) => y.name === n)?.ms;
        return [n, ...results.map((r) => cell(r, n)), ...(gpu && wasm ? [g && w ? `${(w / g).toFixed(2)}×` : '—'] : [])];
      }),
    ),
  );
  for (const r of results) for (const x of r.rows) if (x.ms === null) out.push(`${r.backend} ${x.name}: ${x.note}`);
  process.stdout.write(`${out.join('\n')}\n`);
  const file = argValue('out') ?? `${repoRoot}work_dirs/bench/gpu${quick ? '-quick' : ''}.json`;
  writeJson(file, { date: new Date().toISOString(), quick, repeats, results });
  process.stdout.write(`wrote ${file}\n`);
}

await main();
