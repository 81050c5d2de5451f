/**
 * Micro-benchmark of tiedet's wasm gradient kernels (src/engine/kernels) on ResNet-like conv shapes:
 * forward conv2d vs our Conv2DBackpropFilter / Conv2DBackpropInput vs the stock wasm Conv2DBackpropInput, the
 * depthwise ones, and MaxPoolGrad (ours vs stock) for the ResNet stem's pool.
 *
 *   npx tsx tools/bench/kernels.ts [--threads 2] [--rounds 9]
 *
 * Prints a table and writes work_dirs/bench/kernels.json. No assertions on time.
 *
 * The variants of one shape run interleaved (round-robin, `rounds` times) and each reports its median, so a load
 * spike on this shared machine hits all of them alike. "fwd" reuses one filter tensor, so XNNPACK's packed
 * weights are cached; "fwd fresh W" makes a new filter tensor each time, as a training step does after every
 * weight update (XNNPACK then repacks the filter, ~4.5 ns per value).
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { initEngine } from '../../src/engine/index.js';
import { stockWasmKernel } from '../../src/engine/kernels/index.js';
import { argValue, repoRoot, table, writeJson } from './harness.js';

interface Shape {
  name: string;
  x: [number, number, number, number];
  k: number;
  stride: number;
  co: number;
  depthwise?: boolean;
}

const SHAPES: Shape[] = [
  { name: 'stem 7x7 s2 3→64 @256', x: [2, 256, 256, 3], k: 7, stride: 2, co: 64 },
  { name: '3x3 s1 64→64 @64', x: [2, 64, 64, 64], k: 3, stride: 1, co: 64 },
  { name: '3x3 s2 64→128 @64', x: [2, 64, 64, 64], k: 3, stride: 2, co: 128 },
  { name: '3x3 s2 128→128 @64', x: [2, 64, 64, 128], k: 3, stride: 2, co: 128 },
  { name: '1x1 s2 64→128 @64', x: [2, 64, 64, 64], k: 1, stride: 2, co: 128 },
  { name: '1x1 s1 256→64 @64', x: [2, 64, 64, 256], k: 1, stride: 1, co: 64 },
  { name: '3x3 s1 128→128 @32', x: [2, 32, 32, 128], k: 3, stride: 1, co: 128 },
  { name: '3x3 s2 128→256 @32', x: [2, 32, 32, 128], k: 3, stride: 2, co: 256 },
  { name: '3x3 s1 256→256 @16', x: [2, 16, 16, 256], k: 3, stride: 1, co: 256 },
  { name: '3x3 s2 256→512 @16', x: [2, 16, 16, 256], k: 3, stride: 2, co: 512 },
  { name: '3x3 s1 512→512 @8', x: [2, 8, 8, 512], k: 3, stride: 1, co: 512 },
  { name: 'dw 3x3 s1 ×1 128 @64', x: [2, 64, 64, 128], k: 3, stride: 1, co: 128, depthwise: true },
  { name: 'dw 3x3 s2 ×1 128 @64', x: [2, 64, 64, 128], k: 3, stride: 2, co: 128, depthwise: true },
];

type Variant = [string, () => tf.Tensor | tf.TensorInfo];

function dispose(r: tf.Tensor | tf.TensorInfo): void {
  if (r instanceof tf.Tensor) r.dispose();
  else tf.engine().disposeTensor(tf.engine().makeTensorFromTensorInfo(r)); // adopt, then drop, the bare output
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runInterleaved(variants: Variant[], rounds: number): Record<string, number> {
  for (const [, f] of variants) dispose(f()); // warm-up
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of variants) {
      const t0 = performance.now();
      const out = f();
      const dt = performance.now() - t0; // wasm kernels are synchronous
      dispose(out);
      times.get(name)!.push(dt);
    }
  }
  return Object.fromEntries([...times].map(([n, t]) => [n, median(t)]));
}

async function main(): Promise<void> {
  const threads = Number(argValue('threads') ?? 2);
  const rounds = Number(argValue('rounds') ?? 9);
  const info = await initEngine({ backend: 'wasm', threads });
  const stock = stockWasmKernel('Conv2DBackpropInput');
  const backend = tf.backend();
  const results: Record<string, unknown>[] = [];
  const rows: (string | number)[][] = [];
  for (const s of SHAPES) {
    const x = tf.randomNormal(s.x) as tf.Tensor4D;
    const w = tf.randomNormal(s.depthwise ? [s.k, s.k, s.x[3], 1] : [s.k, s.k, s.x[3], s.co]) as tf.Tensor4D;
    const fwd = () =>
      s.depthwise ? tf.depthwiseConv2d(x, w, s.stride, 'same') : tf.conv2d(x, w, s.stride, 'same');
    const y = fwd();
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    y.dispose();
    const convAttrs = { strides: s.stride, pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) => () =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    const filterName = s.depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
    const inputName = s.depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
    const variants: Variant[] = [
      ['fwd', fwd],
      [
        'fwd fresh W',
        () =>
          tf.tidy(() => {
            const w2 = tf.add(w, 0) as tf.Tensor4D;
            return s.depthwise ? tf.depthwiseConv2d(x, w2, s.stride, 'same') : tf.conv2d(x, w2, s.stride, 'same');
          }),
      ],
      ['dW', run(filterName, { x, dy }, { ...convAttrs, filterShape: w.shape })],
      ['dx', run(inputName, { dy, filter: w }, { ...convAttrs, inputShape: x.shape })],
      [
        'fwd+bwd (tf.grads)',
        () => {
          const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(
              tf.mul(
                s.depthwise
                  ? tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s.stride, 'same')
                  : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s.stride, 'same'),
                dy,
              ),
            ),
          )([x, w]);
          gx!.dispose();
          return gw!;
        },
      ],
    ];
    if (!s.depthwise && stock) {
      variants.push([
        'dx stock',
        () =>
          stock.kernelFunc({
            inputs: { dy, filter: w },
            backend,
            attrs: { ...convAttrs, inputShape: x.shape } as unknown as tf.NamedAttrMap,
          }) as tf.TensorInfo,
      ]);
    }
    process.stderr.write(`${s.name} …\n`);
    const t = runInterleaved(variants, rounds);
    const f = t['fwd']!;
    rows.push([
      s.name,
      f,
      t['fwd fresh W']!,
      t['dW']!,
      t['dx']!,
      t['dx stock'] ?? NaN,
      t['dW']! / f,
      t['dx']! / f,
      t['fwd+bwd (tf.grads)']! / f,
    ]);
    results.push({ ...s, ms: t });
    tf.dispose([x, w, dy]);
  }
  // MaxPoolGrad of the ResNet stem's 3×3/2 pool (padding 1) after a ReLU (many ties).
  const pool: Record<string, number> = {};
  {
    const x = tf.relu(tf.randomNormal([2, 128, 128, 64])) as tf.Tensor4D;
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
    const y = tf.maxPool(x, 3, 2, pad);
    const dy = tf.randomNormal(y.shape);
    const inputs = { dy, input: x, output: y };
    const attrs = { filterSize: 3, strides: 2, pad } as unknown as tf.NamedAttrMap;
    const stockPool = stockWasmKernel('MaxPoolGrad');
    const variants: Variant[] = [
      ['fwd', () => tf.maxPool(x, 3, 2, pad)],
      ['grad', () => tf.engine().runKernel('MaxPoolGrad', inputs, attrs) as tf.Tensor],
    ];
    if (stockPool) variants.push(['grad stock', () => stockPool.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo]);
    process.stderr.write('maxPool 3x3/2 grad …\n');
    Object.assign(pool, runInterleaved(variants, rounds));
    results.push({ name: 'maxPool 3x3 s2 p1 @128, C 64', ms: pool });
    tf.dispose([x, y, dy]);
  }
  const header = ['shape (batch 2)', 'fwd', 'fwd fresh W', 'dW', 'dx', 'dx stock', 'dW/fwd', 'dx/fwd', 'grads/fwd'];
  console.log(`wasm, ${info.threads} thread(s), SIMD ${info.simd}; median ms of ${rounds} interleaved rounds`);
  console.log(table(header, rows));
  console.log(
    `\nMaxPoolGrad, 3x3/2 pool of [2,128,128,64]: forward ${pool['fwd']!.toFixed(2)} ms, ` +
      `grad ${pool['grad']!.toFixed(1)} ms, stock grad ${(pool['grad stock'] ?? NaN).toFixed(1)} ms`,
  );
  const out = join(repoRoot, 'work_dirs', 'bench', 'kernels.json');
  writeJson(out, {
    engine: { backend: info.backend, threads: info.threads, simd: info.simd, tfjs: info.tfjsVersion },
    rounds,
    date: new Date().toISOString(),
    results,
  });
  console.log(`wrote ${out}`);
  process.exit(0); // wasm worker threads
}

await main();
